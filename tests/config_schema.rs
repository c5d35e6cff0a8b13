//! The config file's schema (docs/ecs-deploy.schema.json) and the action refuse the same files
//! with the same words: each bad file here is checked by Python's `jsonschema` (the validator
//! `check-jsonschema` runs, from the project's .venv) and by the action through the runner-env
//! helper. The action's error quotes jsonschema's message for a wrong word, and changes nothing.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use support::{mutations, run_action, Aws};

/// jsonschema's messages for `file` against the shipped schema, one per error.
fn jsonschema_errors(file: &std::path::Path) -> Vec<String> {
    let root = support::repo_root();
    let script = r#"
import json, sys, yaml
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
doc = yaml.safe_load(open(sys.argv[2]))
print(json.dumps([e.message for e in Draft202012Validator(schema).iter_errors(doc)]))
"#;
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .args(["-c", script])
        .arg(root.join("docs/ecs-deploy.schema.json"))
        .arg(file)
        .output()
        .expect(".venv/bin/python (make test sets it up)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A chain whose dev stage is fine and whose prod stage has `bad` in it.
fn file_with_prod(bad: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let text = format!(
        "stages:\n  - name: dev\n    cluster: c-schema\n    services: web\n  - name: prod\n    cluster: c-schema\n    services: web\n{bad}"
    );
    std::fs::write(file.path(), text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_word_or_canary_is_refused_by_the_schema_and_by_the_action_alike() {
    let aws = Aws::new("config_schema").await;
    let cases: [(&str, Option<&str>); 4] = [
        (
            "    strategy: canery\n",
            Some("'canery' is not one of ['rolling', 'blue-green', 'canary', 'linear', 'all-at-once']"),
        ),
        (
            "    judge: bayes\n",
            Some("'bayes' is not one of ['compare', 'threshold']"),
        ),
        ("    strategy: canary\n    canary-steps: 5,10,50\n", None),
        ("    strategy: canary\n    canary-steps: [5, 10, 50]\n", None),
    ];
    for (bad, message) in cases {
        let file = file_with_prod(bad);
        let schema = jsonschema_errors(file.path());
        assert_eq!(schema.len(), 1, "{bad}: {schema:?}");
        if let Some(m) = message {
            assert_eq!(schema[0], m, "{bad}");
        }
        // The run deploys dev; prod's mistake is refused all the same, before any AWS call.
        let run = run_action(
            &aws,
            &[
                ("config", file.path().to_str().unwrap()),
                ("stage", "dev"),
                ("image", &Aws::image_uri("schema", "v2")),
            ],
            &[],
        );
        run.assert_code(2); // an input error, as the README's exit codes say
        let error = run
            .stdout
            .lines()
            .find(|l| l.starts_with("::error"))
            .unwrap_or_else(|| panic!("{bad}: no ::error\n{}", run.stdout));
        assert!(error.contains("stage `prod`"), "{error}");
        match message {
            Some(m) => assert!(error.contains(m), "{bad}: {error}"),
            None => assert!(error.contains("canary-steps") && error.contains("100"), "{error}"),
        }
    }
    assert_eq!(mutations(&aws.access_key), Vec::<String>::new());
    assert_eq!(
        support::Sim::shared().calls(&aws.access_key),
        Vec::<serde_json::Value>::new(),
        "no AWS request at all"
    );
}

/// The example chain and a list of steps that ends at 100 pass both.
#[tokio::test(flavor = "multi_thread")]
async fn the_example_chain_and_good_steps_pass_the_schema() {
    let example = support::repo_root().join("examples/ecs-deploy.yml");
    assert_eq!(jsonschema_errors(&example), Vec::<String>::new());
    let good = file_with_prod("    strategy: canary\n    canary-steps: [5, 50, 100]\n");
    assert_eq!(jsonschema_errors(good.path()), Vec::<String>::new());
}
