//! Escaping untrusted text (branch names, commit messages, PR titles, AWS messages) for
//! Markdown: no formatting, no HTML, no @mentions, no table breakage, bounded length.

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_plain(s, &mut out);
    out
}

/// Hosts whose `https://` URLs the action's own sentences link to: its run (github.com) and
/// the AWS console. Any other URL stays escaped text, as untrusted text must.
const LINKED_HOSTS: [&str; 2] = ["https://github.com/", "https://console.aws.amazon.com/"];

fn linked(url: &str) -> bool {
    LINKED_HOSTS.iter().any(|h| url.starts_with(h))
        || url
            .strip_prefix("https://")
            .and_then(|r| r.split('/').next())
            .is_some_and(|host| host.ends_with(".console.aws.amazon.com"))
}

/// Escaped text in which a URL to GitHub or the AWS console stays a working link: it becomes
/// an autolink (`<https://…>`), whose content GitHub shows literally (no formatting, no
/// mention), instead of a backslash-escaped URL that points to `github%5C.com`.
fn escape_linking(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("https://") {
        escape_plain(&rest[..at], &mut out);
        let url_len = rest[at..]
            .find(|c: char| c.is_whitespace() || c.is_control() || "<>\"`'\\".contains(c))
            .unwrap_or(rest.len() - at);
        let url = rest[at..at + url_len].trim_end_matches(['.', ',', ';', ':', ')', '!', '?']);
        if url.len() > "https://".len() && linked(url) {
            out.push('<');
            out.push_str(&url.replace('|', "%7C"));
            out.push('>');
            rest = &rest[at + url.len()..];
        } else {
            let plain_len = url.len().max("https://".len());
            escape_plain(&rest[at..at + plain_len], &mut out);
            rest = &rest[at + plain_len..];
        }
    }
    escape_plain(rest, &mut out);
    out
}

fn escape_plain(s: &str, out: &mut String) {
    let mut previous: Option<char> = out.chars().last();
    for c in s.chars() {
        // ASCII only: whether GitHub counts other letters as word characters is not documented.
        let after_word = previous.is_some_and(|p| p.is_ascii_alphanumeric() || p == '_');
        previous = Some(c);
        match c {
            // "name@host" or "web@sha256:…" mentions nobody: no invisible character in what
            // a person copies. Only an @ that starts a word can notify.
            '@' if after_word => out.push('@'),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.' | '!' | '|' | '~'
            | '>' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            // A zero-width space after a word-starting @ stops GitHub from notifying the
            // named user or team.
            '@' => out.push_str("@\u{200B}"),
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// Escaped and cut to `max` characters, for table cells.
pub fn cell(s: &str, max: usize) -> String {
    let cut: String = s.chars().take(max).collect();
    let mut out = escape(&cut);
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// The action's own sentences, which quote names and commands in backticks (and may carry
/// untrusted parts): each backtick pair becomes a code span (inert: see `code`), the rest is
/// escaped with its GitHub and AWS console URLs kept as links; an empty pair reads "(none)"
/// instead of a stray "``". Cut to `max` characters.
pub fn prose(s: &str, max: usize) -> String {
    let cut: String = s.chars().take(max).collect();
    let parts: Vec<&str> = cut.split('`').collect();
    let mut out = String::with_capacity(cut.len());
    for (i, part) in parts.iter().enumerate() {
        let quoted = i % 2 == 1 && i + 1 < parts.len();
        match (quoted, part.is_empty()) {
            (true, true) => out.push_str("(none)"),
            (true, false) => out.push_str(&code(part, max)),
            (false, _) if i % 2 == 1 => {
                // An unpaired backtick: shown as one.
                out.push_str("\\`");
                out.push_str(&escape_linking(part));
            }
            (false, _) => out.push_str(&escape_linking(part)),
        }
    }
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// An inline code span (`like this`): backslashes show literally there, so instead of escaping
/// we drop what could end the span or the table row. HTML outranks code spans in CommonMark
/// (spec 6.1: "except HTML tags and autolinks"), so `<!--` or `<img` inside backticks would
/// still be HTML: a zero-width space after each `<` makes it text.
pub fn code(s: &str, max: usize) -> String {
    let cut: String = s.chars().take(max).filter(|c| *c != '`' && !c.is_control()).collect();
    let ellipsis = if s.chars().count() > max { "…" } else { "" };
    let inert = cut.replace('|', "\\|").replace('<', "<\u{200B}");
    format!("`{inert}{ellipsis}`")
}

/// Text inside a fenced code block: only a fence could break out, so break fences.
pub fn code_block(s: &str) -> String {
    format!("```text\n{}\n```", s.replace("```", "`\u{200B}``"))
}

/// A Markdown link to an http(s) URL; anything else (or a URL that could break out of the
/// parentheses) is shown as escaped text instead.
pub fn link(text: &str, url: &str) -> String {
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.chars().count() > 2000 {
        return escape(text);
    }
    let mut safe = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ' ' | '(' | ')' | '<' | '>' | '"' | '\'' | '`' | '|' | '[' | ']' | '\\' | '{' | '}' => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    safe.push_str(&format!("%{b:02X}"));
                }
            }
            c if c.is_control() || c.is_whitespace() => {}
            c => safe.push(c),
        }
    }
    format!("[{}]({safe})", escape(text))
}

/// One line of plain text (a check-run title, a deployment description): no control
/// characters, cut to `max` characters with an ellipsis.
pub fn plain(s: &str, max: usize) -> String {
    let one: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' || c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let one = one.trim();
    if one.chars().count() <= max {
        return one.to_string();
    }
    let mut out: String = one.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Cuts Markdown to at most `max` characters (GitHub counts characters), ending with `note`
/// when cut. A code fence left open by the cut is closed first, so the note stays visible.
pub fn truncate(md: &str, max: usize, note: &str) -> String {
    if md.chars().count() <= max {
        return md.to_string();
    }
    const CLOSE: &str = "\n```\n";
    let room = max.saturating_sub(note.chars().count() + CLOSE.len());
    let mut cut: String = md.chars().take(room).collect();
    let open_fences = cut.lines().filter(|l| l.trim_start().starts_with("```")).count();
    if open_fences % 2 == 1 {
        cut.push_str(CLOSE);
    }
    cut.push_str(note);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_inert() {
        let e = escape("<img src=x onerror=alert(1)> [link](http://evil) @org/team | cell\n# title");
        assert!(!e.contains("<img"));
        assert!(e.contains("\\[link\\]"));
        assert!(e.contains("@\u{200B}org"));
        assert!(e.contains("\\|"));
        assert!(!e.contains('\n'));
    }

    #[test]
    fn only_a_word_starting_at_sign_is_defused() {
        assert_eq!(escape("ping @acme/ops"), "ping @\u{200B}acme/ops");
        assert_eq!(escape("@ops"), "@\u{200B}ops");
        assert_eq!(escape("shop/web@sha256:ab"), "shop/web@sha256:ab");
    }

    #[test]
    fn the_actions_own_links_stay_links_and_others_stay_text() {
        assert_eq!(
            prose(
                "held by run 7 (https://github.com/acme/shop/actions/runs/7), until 12:00.",
                500
            ),
            "held by run 7 \\(<https://github.com/acme/shop/actions/runs/7>\\), until 12:00\\."
        );
        assert_eq!(
            prose("see https://github.com/a|b **c**", 500),
            "see <https://github.com/a%7Cb> \\*\\*c\\*\\*"
        );
        assert_eq!(
            prose("https://github.com/<img>", 500),
            "<https://github.com/>&lt;img\\>"
        );
        assert!(prose("https://eu-west-1.console.aws.amazon.com/ecs/v2", 500).starts_with("<https://eu-west-1.console"));
        // Anything else, and all untrusted text, stays escaped.
        assert_eq!(
            prose("https://evil.example/t.png", 500),
            "https://evil\\.example/t\\.png"
        );
        assert_eq!(escape("https://github.com/x"), "https://github\\.com/x");
        assert_eq!(prose("https://", 500), "https://");
    }

    #[test]
    fn code_spans_cannot_break_out() {
        assert_eq!(code("a`b|c\nd", 100), "`ab\\|cd`");
    }

    #[test]
    fn fences_cannot_close_early() {
        assert!(!code_block("a\n```\n# x").trim_end_matches("```").contains("\n```\n"));
    }

    #[test]
    fn links_only_to_http_and_cannot_break_out() {
        assert_eq!(link("run", "https://x/a b)c"), "[run](https://x/a%20b%29c)");
        assert_eq!(link("run", "javascript:alert(1)"), "run");
    }

    #[test]
    fn plain_is_one_bounded_line() {
        assert_eq!(plain("a\nb\u{7}c", 10), "a bc");
        assert_eq!(plain("abcdef", 4), "abc…");
    }

    #[test]
    fn truncation_counts_characters_and_closes_fences() {
        let md = format!("intro\n```text\n{}\n```\n", "é".repeat(100));
        let t = truncate(&md, 60, "\n_(cut)_");
        assert!(t.chars().count() <= 60, "{}", t.chars().count());
        assert!(t.ends_with("```\n\n_(cut)_"), "{t}");
        assert_eq!(truncate("short", 60, "x"), "short");
    }
}
