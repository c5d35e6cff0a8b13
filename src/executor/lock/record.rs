//! The lock's value in its store, and which versions count (pure).
//!
//! Each version reads `<claim>;after=<n>`: the claim is `free` or a holder
//! (`holder::Holder::value`), and `n` is the version its writer read before writing. The store
//! numbers versions itself, one per write, so a version counts only when it is `n + 1`: nobody
//! wrote between its writer's read and its write. Of two runs that read the same version and
//! both wrote, exactly one got `n + 1`; the other's version does not count and is skipped by
//! every reader, who walks back to the newest version that counts. Stale reads cannot break
//! this: a write based on an old read gets a number that is too high and does not count.

/// What a version of the lock says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Free,
    /// A holder's value (or, for a value this action did not write, the value itself).
    Held(String),
}

/// One version, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub claim: Claim,
    /// The version its writer read (0: there was none).
    pub after: u64,
}

const AFTER: &str = ";after=";

/// The value to write for `claim` after reading version `after`.
pub fn encode(claim: &Claim, after: u64) -> String {
    match claim {
        Claim::Free => format!("free{AFTER}{after}"),
        Claim::Held(holder) => format!("{holder}{AFTER}{after}"),
    }
}

/// A version's value; `None` for a value this action did not write.
pub fn parse(value: &str) -> Option<Entry> {
    let (claim, after) = value.rsplit_once(AFTER)?;
    let after = after.parse().ok()?;
    let claim = match claim {
        "free" => Claim::Free,
        holder if !holder.is_empty() => Claim::Held(holder.to_string()),
        _ => return None,
    };
    Some(Entry { claim, after })
}

/// Whether version `version`, whose writer read `after`, is a write that counts.
pub fn counts(version: u64, after: u64) -> bool {
    after.checked_add(1) == Some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_round_trips() {
        for claim in [Claim::Free, Claim::Held("1001/1@1700000000+abc123".into())] {
            let e = parse(&encode(&claim, 41)).unwrap();
            assert_eq!(e, Entry { claim, after: 41 });
        }
    }

    #[test]
    fn only_the_version_right_after_the_read_counts() {
        assert!(counts(1, 0), "the write that created the value");
        assert!(counts(42, 41));
        assert!(!counts(43, 41), "someone wrote version 42 in between");
        assert!(!counts(41, 41));
        assert!(!counts(0, u64::MAX));
    }

    #[test]
    fn a_value_this_action_did_not_write_is_not_parsed() {
        assert_eq!(parse("hello"), None);
        assert_eq!(parse(";after=3"), None);
        assert_eq!(parse("free;after=x"), None);
    }
}
