//! The layering of ARCHITECTURE.md, checked on the source: each layer may reach only the
//! layers below it, and only the adapters reach the AWS SDKs and octocrab. A forbidden
//! import fails `make test`, so the rules do not rest on review.
//!
//! What counts as a reach: any `crate::<module>` path, a `super::` chain that climbs to the
//! crate root and names a top-level module, and the SDK crates' names, anywhere in a file
//! (comments excepted). `test_fixtures` is `#[cfg(test)]` only, so it is allowed everywhere:
//! a reach from shipped code would not compile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layer → the top-level modules its files may name (its own always included).
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("error", &["domain"]),
    ("ports", &["domain", "error"]),
    ("config", &["domain", "error"]),
    ("executor", &["domain", "ports", "error"]),
    ("aws", &["domain", "ports", "error"]),
    ("github", &["domain", "ports", "error"]),
    ("webhooks", &["domain", "ports", "error"]),
    ("http", &["domain", "ports", "error"]),
    ("fakes", &["domain", "ports", "error"]),
];

/// External crates only an adapter may use, and which adapter.
const SDKS: &[(&str, &str)] = &[
    ("aws_sdk_", "aws"),
    ("aws_smithy_", "aws"),
    ("aws_config", "aws"),
    ("aws_credential_types", "aws"),
    ("octocrab", "github"),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/executor/chain/mod.rs` → `["executor", "chain"]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src/").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib" || l == "main") {
        parts.pop();
    }
    parts
}

/// The text without `//` comments (doc comments included: prose may name any module).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| {
            let mut quotes = 0;
            let b = l.as_bytes();
            for i in 0..b.len() {
                match b[i] {
                    b'"' if i == 0 || b[i - 1] != b'\\' => quotes += 1,
                    b'/' if quotes % 2 == 0 && b.get(i + 1) == Some(&b'/') => return &l[..i],
                    _ => {}
                }
            }
            l
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The names a path segment starting at `rest` names: `x` or each item of `{x, y}`.
fn named(rest: &str) -> Vec<String> {
    match rest.strip_prefix('{') {
        Some(group) => group
            .split('}')
            .next()
            .unwrap_or("")
            .split(',')
            .map(|n| ident_at(n.trim()))
            .filter(|n| !n.is_empty())
            .collect(),
        None => vec![ident_at(rest)],
    }
}

/// The top-level modules `text` reaches, from a file at `module`. A `super::` chain counts
/// when it climbs at least to the file's root (an inline `mod tests` adds a level) and names
/// one of `tops`.
fn reaches(module: &[String], tops: &[&str], text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // e.g. `some_crate::`
        }
        found.extend(named(&text[i + "crate::".len()..]));
    }
    for (i, _) in text.match_indices("super::") {
        if text[..i].ends_with("super::") {
            continue; // counted from the chain's first `super::`
        }
        let mut rest = &text[i..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        if climbs >= module.len() {
            found.extend(named(rest).into_iter().filter(|n| tops.contains(&n.as_str())));
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

#[test]
fn each_layer_reaches_only_the_layers_below_it_and_only_adapters_reach_the_sdks() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let tops: Vec<&str> = ALLOWED
        .iter()
        .map(|(l, _)| *l)
        .chain(["app", "test_fixtures"])
        .collect();
    let mut broken = Vec::new();
    for file in &files {
        let module = module_path(&src, file);
        let Some(layer) = module.first().map(String::as_str) else {
            continue; // lib.rs and main.rs wire everything
        };
        let text = code(&std::fs::read_to_string(file).expect("a source file"));
        let shown = file.strip_prefix(&src).expect("under src/").display().to_string();
        if let Some(may) = allowed.get(layer) {
            for target in reaches(&module, &tops, &text) {
                if target != layer && target != "test_fixtures" && !may.contains(&target.as_str()) {
                    broken.push(format!("src/{shown}: {layer} reaches {target} (allowed: {may:?})"));
                }
            }
        }
        for (sdk, owner) in SDKS {
            if layer != *owner && layer != "app" && text.contains(sdk) {
                broken.push(format!("src/{shown}: {layer} names {sdk}, which only {owner}/ may use"));
            }
        }
    }
    broken.sort();
    broken.dedup();
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_check_sees_every_kind_of_reach() {
    let m = |p: &str| p.split('/').map(str::to_string).collect::<Vec<_>>();
    let text = code("use crate::config::RawInputs;\nlet x = super::super::github::commands::log_line(s);\nuse crate::{aws, domain};\n// crate::app in a comment\nlet s = \"// not a comment\"; crate::fakes::x();");
    let tops = ["aws", "config", "domain", "fakes", "github", "executor"];
    let mut got = reaches(&m("executor/chain"), &tops, &text);
    got.sort();
    assert_eq!(got, ["aws", "config", "domain", "fakes", "github"]);
    // Inside executor/chain/choose.rs, two climbs reach `executor`, not the root.
    assert!(reaches(&m("executor/chain/choose"), &tops, "super::super::config::x").is_empty());
    // A test module one level deeper climbs one more.
    assert_eq!(
        reaches(&m("config/native"), &tops, "super::super::super::github::x"),
        ["github"]
    );
}

/// One concept a file: a source file over about 400 lines is split, not grown.
#[test]
fn no_source_file_is_over_about_400_lines() {
    const LIMIT: usize = 420;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).expect("a source file").lines().count();
            (n > LIMIT).then(|| format!("{} has {n} lines", f.display()))
        })
        .collect();
    long.sort();
    assert!(
        long.is_empty(),
        "split these files (limit {LIMIT}):\n{}",
        long.join("\n")
    );
}
