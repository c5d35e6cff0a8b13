//! How the GitHub Actions runner reads what a step writes, ported from actions/runner
//! (`ActionCommand.TryParseV2` / `TryParse`, the `GITHUB_OUTPUT` file reader), so tests check
//! our output against the parser that will actually read it, not against our own idea of it.

use std::collections::HashMap;

/// A workflow command as the runner parsed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCommand {
    pub name: String,
    pub properties: HashMap<String, String>,
    pub data: String,
}

/// The runner reads process output with .NET's `ReadLine`: `\r`, `\n` and `\r\n` all end a line.
pub fn log_lines(out: &str) -> Vec<&str> {
    out.split("\r\n").flat_map(|l| l.split(['\r', '\n'])).collect()
}

fn unescape(s: &str, pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .fold(s.to_string(), |acc, (from, to)| acc.replace(from, to))
}

pub fn unescape_data(s: &str) -> String {
    unescape(s, &[("%0D", "\r"), ("%0A", "\n"), ("%25", "%")])
}

pub fn unescape_property(s: &str) -> String {
    unescape(
        s,
        &[("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")],
    )
}

/// `::name k=v,k=v::data`, after trimming leading whitespace. Any name counts here (the runner
/// also requires it to be registered), so "not a command" is a stronger claim.
pub fn parse_v2(line: &str) -> Option<ParsedCommand> {
    let msg = line.trim_start();
    let rest = msg.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let (name, props) = match info.find(' ') {
        Some(i) => (&info[..i], Some(info[i + 1..].trim())),
        None => (info, None),
    };
    if name.is_empty() {
        return None;
    }
    let mut properties = HashMap::new();
    for p in props.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
        let pair: Vec<&str> = p.splitn(2, '=').filter(|s| !s.is_empty()).collect();
        if pair.len() == 2 {
            properties.insert(pair[0].to_string(), unescape_property(pair[1]));
        }
    }
    Some(ParsedCommand {
        name: name.to_string(),
        properties,
        data: unescape_data(&rest[end + 2..]),
    })
}

/// The legacy `##[name k=v;k=v]data`, found anywhere in a line.
pub fn parse_legacy(line: &str) -> Option<ParsedCommand> {
    let start = line.find("##[")? + 3;
    let end = start + line[start..].find(']')?;
    let info = &line[start..end];
    let name = info.split(' ').next().unwrap_or("");
    if name.is_empty() {
        return None;
    }
    Some(ParsedCommand {
        name: name.to_string(),
        properties: HashMap::new(),
        data: line[end + 1..].to_string(),
    })
}

/// Every command the runner would act on in this output.
pub fn commands(out: &str) -> Vec<ParsedCommand> {
    log_lines(out)
        .into_iter()
        .filter_map(|l| parse_v2(l).or_else(|| parse_legacy(l)))
        .collect()
}

/// The `GITHUB_OUTPUT` file as the runner reads it on Linux: lines end at `\n`; `NAME=VALUE`
/// when `=` comes before `<<`, else `NAME<<DELIMITER` up to a line equal to the delimiter.
/// A later entry of the same name wins. A heredoc without its delimiter is an error.
pub fn parse_output_file(text: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    // A final `\n` ends the last line; it does not start an empty one.
    let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
    let mut pending: Vec<&str> = Vec::new();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.insert(line[..e].to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("invalid heredoc line {line:?}"));
                }
                pending.clear();
                let mut closed = false;
                for l in lines.by_ref() {
                    if l == delimiter {
                        closed = true;
                        break;
                    }
                    pending.push(l);
                }
                if !closed {
                    return Err(format!("no closing delimiter {delimiter:?}"));
                }
                out.insert(name.to_string(), pending.join("\n"));
            }
            _ => return Err(format!("invalid line {line:?}")),
        }
    }
    Ok(out)
}
