//! The inputs that take one of a fixed set of words, and the one message a wrong word gets.
//!
//! The config file's schema (docs/ecs-deploy.schema.json) lists the same words as `enum`s, and
//! the message is the one `check-jsonschema` prints for them, so an editor, the linter and the
//! action say the same thing. A unit test keeps the two lists equal.

use super::input_error::{printable, InputError};

/// Each input with its words, in the schema's order.
pub const CHOICES: &[(&str, &[&str])] = &[
    (
        "strategy",
        &["rolling", "blue-green", "canary", "linear", "all-at-once"],
    ),
    ("on-inconclusive", &["fail", "rollback", "continue"]),
    ("judge", &["compare", "threshold"]),
    ("wait-until", &["deployed", "shifted", "started"]),
    ("sticky-rollback", &["unstick", "keep-serving"]),
    ("on-split", &["rollback", "continue"]),
    ("fail-when", &["above", "below"]),
];

/// The words `input` takes, if it is one of [`CHOICES`].
pub fn words(input: &str) -> Option<&'static [&'static str]> {
    CHOICES.iter().find(|(name, _)| *name == input).map(|(_, w)| *w)
}

/// `'canery' is not one of ['rolling', 'blue-green', ...]`: Python's `jsonschema` wording, which
/// `check-jsonschema` prints, quoted as Python quotes a string.
pub fn not_one_of(value: &str, words: &[&str]) -> String {
    let listed: Vec<String> = words.iter().map(|w| python_quote(w)).collect();
    format!(
        "{} is not one of [{}]",
        python_quote(&printable(value)),
        listed.join(", ")
    )
}

fn python_quote(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', "\\'"))
    }
}

/// `value` if it is one of `input`'s words; otherwise the error, naming the input and the words.
pub fn check(input: &str, value: &str) -> Result<(), InputError> {
    match words(input) {
        Some(words) if words.contains(&value) => Ok(()),
        _ => Err(refusal(input, value)),
    }
}

/// The error for a word `input` does not take.
pub fn refusal(input: &str, value: &str) -> InputError {
    let words = words(input).unwrap_or(&[]);
    InputError::new(
        input,
        not_one_of(value, words),
        format!("write one of {}", words.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = include_str!("../../docs/ecs-deploy.schema.json");

    fn schema_enums() -> Vec<(String, Vec<String>)> {
        fn walk(v: &serde_json::Value, key: &str, out: &mut Vec<(String, Vec<String>)>) {
            match v {
                serde_json::Value::Object(map) => {
                    // (`contains` holds the canary's last step, a number: not a word list.)
                    if let (Some(serde_json::Value::Array(e)), false) = (map.get("enum"), key == "contains") {
                        let words = e.iter().map(|w| w.as_str().unwrap().to_string()).collect();
                        out.push((key.to_string(), words));
                    }
                    for (k, child) in map {
                        walk(child, k, out);
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|c| walk(c, key, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&serde_json::from_str(SCHEMA).unwrap(), "", &mut out);
        out
    }

    #[test]
    fn the_choices_are_the_schemas_enums_word_for_word() {
        let schema = schema_enums();
        assert_eq!(schema.len(), CHOICES.len(), "{schema:?}");
        for (input, words) in schema {
            assert_eq!(
                super::words(&input),
                Some(&words.iter().map(String::as_str).collect::<Vec<_>>()[..]),
                "{input}"
            );
        }
    }

    #[test]
    fn a_wrong_word_gets_jsonschemas_message_and_the_words() {
        let e = check("strategy", "canery").unwrap_err();
        assert_eq!(e.input, "strategy");
        assert_eq!(
            e.problem,
            "'canery' is not one of ['rolling', 'blue-green', 'canary', 'linear', 'all-at-once']"
        );
        assert!(check("judge", "compare").is_ok());
    }
}
