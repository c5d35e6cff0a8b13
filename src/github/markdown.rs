//! Escaping untrusted text (branch names, commit messages, PR titles, AWS messages) for
//! Markdown: no formatting, no HTML, no @mentions, no table breakage, bounded length.

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.' | '!' | '|' | '~'
            | '>' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            // A zero-width joiner after @ stops GitHub from notifying the named user or team.
            '@' => out.push_str("@\u{200B}"),
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
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

/// An inline code span (`like this`): backslashes show literally there, so instead of escaping
/// we drop what could end the span or the table row.
pub fn code(s: &str, max: usize) -> String {
    let cut: String = s.chars().take(max).filter(|c| *c != '`' && !c.is_control()).collect();
    let ellipsis = if s.chars().count() > max { "…" } else { "" };
    format!("`{}{ellipsis}`", cut.replace('|', "\\|"))
}

/// Text inside a fenced code block: only a fence could break out, so break fences.
pub fn code_block(s: &str) -> String {
    format!("```text\n{}\n```", s.replace("```", "`\u{200B}``"))
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
    fn code_spans_cannot_break_out() {
        assert_eq!(code("a`b|c\nd", 100), "`ab\\|cd`");
    }

    #[test]
    fn fences_cannot_close_early() {
        assert!(!code_block("a\n```\n# x").trim_end_matches("```").contains("\n```\n"));
    }
}
