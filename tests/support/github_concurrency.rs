//! A model of GitHub Actions' concurrency groups (see tests/concurrency.rs for the rules and
//! their sources), and of the few workflow expressions the examples use in `concurrency:` and
//! `if:`. An expression it does not know fails the test, so the examples cannot drift from it.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_yaml_ng::Value;

const ACTION: &str = "ecs-deploy-action/ecs-deploy-action@";
/// The most runs or jobs `queue: max` keeps waiting in one group.
const MAX_QUEUE: usize = 100;

/// The `github` and `inputs` contexts of one run.
pub struct Ctx {
    values: HashMap<String, Val>,
}

impl Ctx {
    fn new(event: &str, git_ref: &str, run_id: u64) -> Ctx {
        let mut values = HashMap::new();
        values.insert("github.event_name".into(), Val::Str(event.into()));
        values.insert("github.ref".into(), Val::Str(git_ref.into()));
        values.insert("github.run_id".into(), Val::Num(run_id as f64));
        values.insert("github.sha".into(), Val::Str(format!("{run_id:040}")));
        Ctx { values }
    }

    pub fn push(git_ref: &str, run_id: u64) -> Ctx {
        Ctx::new("push", git_ref, run_id)
    }

    pub fn pull_request(number: u64, run_id: u64) -> Ctx {
        let mut c = Ctx::new("pull_request", &format!("refs/pull/{number}/merge"), run_id);
        c.values
            .insert("github.event.pull_request.number".into(), Val::Num(number as f64));
        c.values.insert(
            "github.event.pull_request.head.sha".into(),
            Val::Str(format!("{:040}", run_id + 1)),
        );
        c
    }

    pub fn dispatch(run_id: u64, inputs: &[(&str, &str)]) -> Ctx {
        let mut c = Ctx::new("workflow_dispatch", "refs/heads/main", run_id);
        for (k, v) in inputs {
            c.values.insert(format!("inputs.{k}"), Val::Str((*v).into()));
        }
        c
    }

    fn lookup(&self, path: &str) -> Val {
        if let Some(v) = self.values.get(path) {
            return v.clone();
        }
        // Absent event fields are null, as in GitHub's contexts; anything else is unknown here.
        assert!(
            path.starts_with("github.event."),
            "an expression this model does not know: {path}"
        );
        Val::Null
    }
}

#[derive(Clone, Debug)]
enum Val {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Bool(b) => *b,
            Val::Num(n) => *n != 0.0,
            Val::Str(s) => !s.is_empty(),
        }
    }

    fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Bool(b) => b.to_string(),
            Val::Num(n) => n.to_string(),
            Val::Str(s) => s.clone(),
        }
    }

    /// GitHub compares strings ignoring case.
    fn equals(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => a.eq_ignore_ascii_case(b),
            (Val::Num(a), Val::Num(b)) => a == b,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            (Val::Null, Val::Null) => true,
            _ => false,
        }
    }
}

/// `||`, `&&`, `==`, `!=`, `!`, parentheses, 'strings', true/false/null and context paths.
fn eval(expr: &str, ctx: &Ctx) -> Val {
    let tokens = tokenize(expr);
    let mut pos = 0;
    let v = or(&tokens, &mut pos, ctx);
    assert_eq!(pos, tokens.len(), "trailing tokens in `{expr}`");
    v
}

fn tokenize(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::from("'");
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(s);
        } else if "=!&|".contains(c) && chars.get(i + 1).is_some_and(|n| "=&|".contains(*n)) {
            out.push(chars[i..i + 2].iter().collect());
            i += 2;
        } else if "!()".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_.-".contains(chars[i])) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else {
            panic!("a character this model does not parse in `{expr}`: {c}");
        }
    }
    out
}

fn or(t: &[String], pos: &mut usize, ctx: &Ctx) -> Val {
    let mut left = and(t, pos, ctx);
    while t.get(*pos).is_some_and(|s| s == "||") {
        *pos += 1;
        let right = and(t, pos, ctx);
        left = if left.truthy() { left } else { right };
    }
    left
}

fn and(t: &[String], pos: &mut usize, ctx: &Ctx) -> Val {
    let mut left = equality(t, pos, ctx);
    while t.get(*pos).is_some_and(|s| s == "&&") {
        *pos += 1;
        let right = equality(t, pos, ctx);
        left = if left.truthy() { right } else { left };
    }
    left
}

fn equality(t: &[String], pos: &mut usize, ctx: &Ctx) -> Val {
    let left = unary(t, pos, ctx);
    match t.get(*pos).map(String::as_str) {
        Some(op @ ("==" | "!=")) => {
            let op = op.to_string();
            *pos += 1;
            let right = unary(t, pos, ctx);
            Val::Bool(left.equals(&right) == (op == "=="))
        }
        _ => left,
    }
}

fn unary(t: &[String], pos: &mut usize, ctx: &Ctx) -> Val {
    let tok = t.get(*pos).cloned().expect("an expression ends early");
    *pos += 1;
    match tok.as_str() {
        "!" => Val::Bool(!unary(t, pos, ctx).truthy()),
        "(" => {
            let v = or(t, pos, ctx);
            assert_eq!(t.get(*pos).map(String::as_str), Some(")"));
            *pos += 1;
            v
        }
        "true" => Val::Bool(true),
        "false" => Val::Bool(false),
        "null" => Val::Null,
        s if s.starts_with('\'') => Val::Str(s[1..].to_string()),
        s if s.chars().all(|c| c.is_ascii_digit()) => Val::Num(s.parse().unwrap()),
        path => ctx.lookup(path),
    }
}

/// A string with `${{ }}` parts, as `group:` is written.
fn interpolate(s: &str, ctx: &Ctx) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("a closed expression") + start;
        out.push_str(&eval(&rest[start + 3..end], ctx).text());
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A boolean field (`if:`, `cancel-in-progress:`), written bare, as `${{ }}` or as a literal.
fn condition(v: &Value, ctx: &Ctx) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => {
            let s = s.trim();
            let inner = s.strip_prefix("${{").and_then(|s| s.strip_suffix("}}")).unwrap_or(s);
            eval(inner, ctx).truthy()
        }
        other => panic!("not a condition: {other:?}"),
    }
}

#[derive(Clone, Debug)]
struct Group {
    name: String,
    cancel_in_progress: bool,
    queue_max: bool,
}

fn group(v: &Value, ctx: &Ctx) -> Option<Group> {
    let (name, cancel, queue) = match v {
        Value::Null => return None,
        Value::String(s) => (s.clone(), false, None),
        Value::Mapping(_) => (
            v["group"].as_str().expect("concurrency.group").to_string(),
            v.get("cancel-in-progress").is_some_and(|c| condition(c, ctx)),
            v.get("queue")
                .map(|q| q.as_str().expect("queue is a string").to_string()),
        ),
        other => panic!("not a concurrency block: {other:?}"),
    };
    let queue_max = match queue.as_deref() {
        None | Some("single") => false,
        Some("max") => true,
        Some(other) => panic!("queue: {other} is not single or max"),
    };
    assert!(
        !(queue_max && cancel),
        "GitHub refuses queue: max with cancel-in-progress: true"
    );
    Some(Group {
        // Group names are case-insensitive.
        name: interpolate(&name, ctx).to_lowercase(),
        cancel_in_progress: cancel,
        queue_max,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Waiting,
    Queued,
    Running,
    Done,
    Cancelled,
    /// Its `if:` was false.
    SkippedByIf,
    /// A job it needs did not succeed.
    NotRun,
}

impl State {
    fn ended(self) -> bool {
        !matches!(self, State::Waiting | State::Queued | State::Running)
    }
}

struct Job {
    name: String,
    needs: Vec<String>,
    condition: Option<Value>,
    concurrency: Value,
    deploys: bool,
    state: State,
    started_at: Option<usize>,
}

struct Run {
    ctx: Ctx,
    concurrency: Option<Group>,
    cancelled: bool,
    jobs: Vec<Job>,
}

/// Who holds or waits for a group: a run (workflow-level) or one of its jobs.
type Holder = (usize, Option<usize>);

#[derive(Default)]
struct Slot {
    running: Option<Holder>,
    pending: VecDeque<Holder>,
}

#[derive(Default)]
pub struct GitHub {
    runs: Vec<Run>,
    groups: BTreeMap<String, Slot>,
    clock: usize,
    log: Vec<String>,
}

impl GitHub {
    /// A run of `workflow` starts, for the event `ctx` describes.
    pub fn trigger(&mut self, workflow: &Value, ctx: Ctx) -> usize {
        let mut jobs = Vec::new();
        for (name, job) in workflow["jobs"].as_mapping().expect("jobs") {
            let needs = match job.get("needs") {
                None => vec![],
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Sequence(s)) => s.iter().map(|n| n.as_str().unwrap().to_string()).collect(),
                Some(other) => panic!("needs: {other:?}"),
            };
            let deploys = job["steps"].as_sequence().is_some_and(|steps| {
                steps
                    .iter()
                    .any(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(ACTION)))
            });
            jobs.push(Job {
                name: name.as_str().unwrap().to_string(),
                needs,
                condition: job.get("if").cloned(),
                concurrency: job.get("concurrency").cloned().unwrap_or(Value::Null),
                deploys,
                state: State::Waiting,
                started_at: None,
            });
        }
        let concurrency = group(workflow.get("concurrency").unwrap_or(&Value::Null), &ctx);
        let run = self.runs.len();
        self.runs.push(Run {
            ctx,
            concurrency: concurrency.clone(),
            cancelled: false,
            jobs,
        });
        self.log.push(format!("run {run} triggered"));
        match concurrency {
            Some(g) => self.enter(&g, (run, None)),
            None => self.advance(run),
        }
        run
    }

    fn enter(&mut self, g: &Group, who: Holder) {
        let slot = self.groups.entry(g.name.clone()).or_default();
        let mut victims = Vec::new();
        if slot.running.is_none() && slot.pending.is_empty() {
            slot.running = Some(who);
        } else if g.cancel_in_progress {
            victims.extend(slot.running.take());
            victims.extend(slot.pending.drain(..));
            slot.running = Some(who);
        } else if g.queue_max {
            assert!(
                slot.pending.len() < MAX_QUEUE,
                "more than {MAX_QUEUE} waiting in {}",
                g.name
            );
            slot.pending.push_back(who);
        } else {
            victims.extend(slot.pending.drain(..));
            slot.pending.push_back(who);
        }
        let runs_now = slot.running == Some(who);
        self.log
            .push(format!("{} enters {} (victims {victims:?})", self.name(who), g.name));
        for (run, _) in victims {
            self.cancel(run);
        }
        if runs_now {
            self.grant(who);
        }
    }

    fn grant(&mut self, who: Holder) {
        self.log.push(format!("{} runs", self.name(who)));
        match who {
            (run, None) => self.advance(run),
            (run, Some(job)) => {
                let j = &mut self.runs[run].jobs[job];
                j.state = State::Running;
                j.started_at = Some(self.clock);
                self.clock += 1;
            }
        }
    }

    fn leave(&mut self, name: &str, who: Holder) {
        let slot = self.groups.get_mut(name).expect("a group entered");
        if slot.running == Some(who) {
            slot.running = slot.pending.pop_front();
            if let Some(next) = slot.running {
                self.grant(next);
            }
        } else {
            slot.pending.retain(|h| *h != who);
        }
    }

    fn job_group(&self, run: usize, job: usize) -> Option<Group> {
        group(&self.runs[run].jobs[job].concurrency, &self.runs[run].ctx)
    }

    /// Jobs whose needs have ended start (or queue), are skipped, or are not run.
    fn advance(&mut self, run: usize) {
        loop {
            let mut moved = false;
            for i in 0..self.runs[run].jobs.len() {
                if self.runs[run].cancelled || self.runs[run].jobs[i].state != State::Waiting {
                    continue;
                }
                let needs: Vec<State> = self.runs[run].jobs[i]
                    .needs
                    .iter()
                    .map(|n| self.state(run, n))
                    .collect();
                if !needs.iter().all(|s| s.ended()) {
                    continue;
                }
                moved = true;
                let job = &self.runs[run].jobs[i];
                let next = if needs.iter().any(|s| *s != State::Done) {
                    State::NotRun
                } else if job
                    .condition
                    .as_ref()
                    .is_some_and(|c| !condition(c, &self.runs[run].ctx))
                {
                    State::SkippedByIf
                } else {
                    State::Queued
                };
                self.runs[run].jobs[i].state = next;
                if next == State::Queued {
                    match self.job_group(run, i) {
                        Some(g) => self.enter(&g, (run, Some(i))),
                        None => self.grant((run, Some(i))),
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let r = &self.runs[run];
        if !r.cancelled && r.jobs.iter().all(|j| j.state.ended()) {
            if let Some(g) = r.concurrency.clone() {
                self.leave(&g.name, (run, None));
            }
        }
    }

    fn cancel(&mut self, run: usize) {
        if self.runs[run].cancelled {
            return;
        }
        self.log.push(format!("run {run} cancelled"));
        self.runs[run].cancelled = true;
        for i in 0..self.runs[run].jobs.len() {
            let state = self.runs[run].jobs[i].state;
            if state.ended() {
                continue;
            }
            self.runs[run].jobs[i].state = State::Cancelled;
            if matches!(state, State::Queued | State::Running) {
                if let Some(g) = self.job_group(run, i) {
                    self.leave(&g.name, (run, Some(i)));
                }
            }
        }
        if let Some(g) = self.runs[run].concurrency.clone() {
            self.leave(&g.name, (run, None));
        }
    }

    fn index(&self, run: usize, job: &str) -> usize {
        self.runs[run]
            .jobs
            .iter()
            .position(|j| j.name == job)
            .unwrap_or_else(|| panic!("run {run} has no job {job}"))
    }

    fn name(&self, who: Holder) -> String {
        match who {
            (run, None) => format!("run {run}"),
            (run, Some(job)) => format!("run {run} job {}", self.runs[run].jobs[job].name),
        }
    }

    /// A running job succeeds.
    pub fn finish(&mut self, run: usize, job: &str) {
        let i = self.index(run, job);
        assert_eq!(
            self.runs[run].jobs[i].state,
            State::Running,
            "run {run} {job}\n{}",
            self.log()
        );
        self.runs[run].jobs[i].state = State::Done;
        self.log.push(format!("run {run} job {job} done"));
        if let Some(g) = self.job_group(run, i) {
            self.leave(&g.name, (run, Some(i)));
        }
        self.advance(run);
    }

    fn running(&self) -> Vec<(usize, usize, String, bool)> {
        let mut out = Vec::new();
        for (r, run) in self.runs.iter().enumerate() {
            for j in &run.jobs {
                if j.state == State::Running {
                    out.push((j.started_at.unwrap(), r, j.name.clone(), j.deploys));
                }
            }
        }
        out.sort();
        out
    }

    /// Every running job that does not deploy (builds) finishes, until none is left.
    pub fn finish_all_but_deploys(&mut self) {
        while let Some((_, run, job, _)) = self.running().into_iter().find(|r| !r.3) {
            self.finish(run, &job);
        }
    }

    /// Running jobs finish, oldest first, until only `held` (if given) is still running.
    pub fn drain(&mut self, held: Option<(usize, String)>) {
        while let Some((_, run, job, _)) = self
            .running()
            .into_iter()
            .find(|r| held.as_ref() != Some(&(r.1, r.2.clone())))
        {
            self.finish(run, &job);
        }
    }

    pub fn state(&self, run: usize, job: &str) -> State {
        self.runs[run].jobs[self.index(run, job)].state
    }

    pub fn started_at(&self, run: usize, job: &str) -> usize {
        self.runs[run].jobs[self.index(run, job)]
            .started_at
            .unwrap_or_else(|| panic!("run {run} {job} never started"))
    }

    pub fn was_cancelled(&self, run: usize) -> bool {
        self.runs[run].cancelled
    }

    pub fn job_names(&self, run: usize) -> Vec<String> {
        self.runs[run].jobs.iter().map(|j| j.name.clone()).collect()
    }

    /// The jobs of `run` that run the action and were not skipped by their `if:`.
    pub fn deploy_jobs(&self, run: usize) -> Vec<String> {
        self.runs[run]
            .jobs
            .iter()
            .filter(|j| j.deploys && j.state != State::SkippedByIf)
            .map(|j| j.name.clone())
            .collect()
    }

    pub fn last_deploy_job(&self, run: usize) -> String {
        self.deploy_jobs(run).pop().expect("a deploying job")
    }

    pub fn log(&self) -> String {
        self.log.join("\n")
    }
}
