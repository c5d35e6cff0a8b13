//! The README documents exactly the inputs and outputs that action.yml declares.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn action() -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("action.yml")).unwrap()).unwrap()
}

fn text(v: &serde_yaml_ng::Value) -> String {
    match v {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Bool(b) => b.to_string(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The tables as the README must carry them.
fn expected_tables() -> (String, String) {
    let action = action();
    let mut inputs = String::from("| Input | Required | Default | Description |\n|---|---|---|---|\n");
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        let default = text(&spec["default"]);
        inputs.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            text(name),
            if spec["required"].as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            },
            if default.is_empty() {
                String::new()
            } else {
                format!("`{default}`")
            },
            text(&spec["description"]).replace('|', "\\|").trim()
        ));
    }
    let mut outputs = String::from("| Output | Description |\n|---|---|\n");
    for (name, spec) in action["outputs"].as_mapping().unwrap() {
        outputs.push_str(&format!(
            "| `{}` | {} |\n",
            text(name),
            text(&spec["description"]).trim()
        ));
    }
    (inputs, outputs)
}

#[test]
fn readme_tables_match_action_yml() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let (inputs, outputs) = expected_tables();
    assert!(
        readme.contains(&inputs),
        "README inputs table is out of date (run .venv/bin/python scripts/readme-tables.py); it should read:\n\n{inputs}"
    );
    assert!(
        readme.contains(&outputs),
        "README outputs table is out of date; it should read:\n\n{outputs}"
    );
}

#[test]
fn every_input_is_read_by_the_binary() {
    let source = std::fs::read_to_string(root().join("src/config/inputs.rs")).unwrap();
    for (name, _) in action()["inputs"].as_mapping().unwrap() {
        let field = text(name).replace('-', "_");
        assert!(
            source.contains(&format!("pub {field}:")),
            "input `{}` is declared in action.yml but never read",
            text(name)
        );
    }
}

#[test]
fn readme_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let head: String = readme.lines().take(25).collect::<Vec<_>>().join("\n");
    assert!(head.contains("make demo") && head.contains("make test"), "{head}");
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.contains("make test"), ".ci/run runs the README's test command");
}

#[test]
fn the_example_chain_config_is_valid_for_the_binary() {
    use ecs_deploy_action::config::chain_file::ChainFile;
    use ecs_deploy_action::config::stages::release_run;
    use ecs_deploy_action::config::{GithubContext, RawInputs};
    let text = std::fs::read_to_string(root().join("examples/ecs-deploy.yml")).unwrap();
    let file = ChainFile::parse(&text, "examples/ecs-deploy.yml").unwrap();
    let names: Vec<&str> = file.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["dev", "staging", "prod"]);
    let raw = RawInputs {
        stage: Some("dev".into()),
        until: Some("prod".into()),
        ..Default::default()
    };
    let run =
        release_run(&file, &raw, &GithubContext::default(), Some("us-east-1".into())).expect("every stage validates");
    let plans = &run.stages;
    assert_eq!(plans.len(), 3);
    assert!(plans[2].cfg.progressive.is_some(), "prod is a canary");
}

/// The README's table of what each controller honours is the capability table the binary
/// checks (`executor::capabilities::TABLE`).
#[test]
fn readme_controller_table_is_the_capability_table() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table = ecs_deploy_action::executor::capabilities::markdown_table();
    assert!(
        readme.contains(&table),
        "README's controller table is out of date; it should read:\n\n{table}"
    );
}
