//! Helpers shared by the integration tests: start a sandbox, run the built binary against it
//! the way a user would, and check what it sent.

#![allow(dead_code, unused_imports)] // the binaries kept apart (tests/*.rs) each use a subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use sandbox::{Options, Policy, PolicyRule, Sandbox};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_kubectl-bluegreen");

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr contains every fragment.
    #[track_caller]
    pub fn stderr_has(&self, fragments: &[&str]) -> &Run {
        for f in fragments {
            assert!(
                self.stderr.contains(f),
                "stderr lacks {f:?}\n--- stderr ---\n{}",
                self.stderr
            );
        }
        self
    }

    /// Asserts that stdout contains every fragment.
    #[track_caller]
    pub fn stdout_has(&self, fragments: &[&str]) -> &Run {
        for f in fragments {
            assert!(
                self.stdout.contains(f),
                "stdout lacks {f:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.stdout,
                self.stderr
            );
        }
        self
    }

    /// stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => panic!("stdout is not JSON: {e}\n{}\n{}", self.stdout, self.stderr),
        }
    }
}

/// A command for the binary with an environment that cannot reach any real cluster: no
/// KUBECONFIG, a HOME without `.kube`, no in-cluster variables, no colour.
pub fn command(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("NO_COLOR")
        .env("HOME", home)
        .env("TERM", "xterm");
    cmd
}

/// Runs the binary with `args` in a clean environment.
pub fn run(args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("a temporary HOME");
    run_in(home.path(), args, &[])
}

/// Runs the binary with `args` and extra environment variables.
pub fn run_in(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = command(home);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from(cmd.output().expect("the binary runs"))
}

/// Runs the binary against a sandbox through `--kubeconfig`.
pub fn run_against(sb: &Sandbox, args: &[&str]) -> Run {
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--kubeconfig", &kubeconfig]);
    let run = run(&all);
    assert_secret_free(sb, &run);
    run
}

/// Starts the binary against a sandbox through `--kubeconfig`, in the background, with stdout
/// and stderr piped, for tests that act while it runs (kill it, race it, hold its requests).
pub fn spawn_against(sb: &Sandbox, home: &Path, args: &[&str]) -> Child {
    command(home)
        .args(args)
        .arg("--kubeconfig")
        .arg(sb.kubeconfig_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Starts a sandbox at test speed, optionally with a scenario.
pub fn start(scenario: Option<&str>) -> Sandbox {
    let mut options = Options::default().speed(20.0);
    if let Some(name) = scenario {
        options = options.scenario(name);
    }
    match Sandbox::start(options) {
        Ok(sb) => sb,
        Err(e) => panic!("the sandbox does not start: {e}"),
    }
}

/// Asserts the sandbox received no request that changes anything.
#[track_caller]
pub fn assert_no_mutation(sb: &Sandbox) {
    let mutating: Vec<String> = sb
        .requests()
        .iter()
        .filter(|r| r.is_mutating())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        mutating.is_empty(),
        "mutating requests were sent: {mutating:?}"
    );
}

/// Asserts the token appears in neither output stream.
#[track_caller]
pub fn assert_secret_free(sb: &Sandbox, run: &Run) {
    let token = sb.token();
    assert!(!token.is_empty());
    assert!(
        !run.stdout.contains(token) && !run.stderr.contains(token),
        "the token leaked into the output"
    );
}

/// Writes a copy of the sandbox's kubeconfig with `edit` applied to its text.
pub fn edited_kubeconfig(sb: &Sandbox, dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(sb.kubeconfig_path()).expect("the sandbox kubeconfig");
    let path = dir.join("kubeconfig");
    std::fs::write(&path, edit(text)).expect("write the kubeconfig");
    path
}

/// Runs `status -o json` until `ready` holds for the document, or fails after `limit`.
#[track_caller]
pub fn wait_for_json(
    sb: &Sandbox,
    args: &[&str],
    limit: Duration,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-o", "json"]);
    loop {
        let run = run_against(sb, &all);
        if run.code == 0 {
            let doc = run.json();
            if ready(&doc) {
                return doc;
            }
            if started.elapsed() > limit {
                panic!("condition not reached within {limit:?}; last document:\n{doc:#}");
            }
        } else if started.elapsed() > limit {
            panic!("status kept failing: {run:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether every existing colour's pods all serve and its Deployment is fully rolled out.
pub fn settled(doc: &serde_json::Value) -> bool {
    doc["colours"]
        .as_array()
        .is_some_and(|colours| colours.iter().all(colour_settled))
}

/// Whether one colour is settled (or missing).
pub fn colour_settled(colour: &serde_json::Value) -> bool {
    let deployment = &colour["deployment"];
    if deployment.is_null() {
        return true;
    }
    let desired = deployment["desired"].as_i64().unwrap_or(-1);
    let pods = colour["pods"].as_array().map(Vec::len).unwrap_or(0) as i64;
    deployment["rolloutComplete"] == true && pods == desired
}

/// Waits until the sandbox's controllers have brought everything to rest.
#[track_caller]
pub fn wait_settled(sb: &Sandbox) {
    let started = Instant::now();
    while !sandbox::controllers::settled(sb.store()) {
        if started.elapsed() > Duration::from_secs(30) {
            panic!("the sandbox did not settle within 30s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts a sandbox with a scenario, waits for it to settle and forgets the requests so far.
pub fn settled_scenario(name: &str) -> Sandbox {
    let sb = start(Some(name));
    wait_settled(&sb);
    sb.clear_requests();
    sb
}

/// The pod rows of a status table (lines starting with a colour name).
pub fn pod_rows<'a>(stdout: &'a str, colour: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(colour) && l.contains('/'))
        .collect()
}

/// The kubectl on PATH, or `None` when it is missing and this is not CI: on CI (`CI=true`) its
/// absence fails the test instead of skipping what needs it.
pub fn kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is not on PATH; CI must install it"
        );
        eprintln!("kubectl is not on PATH; skipping what needs it");
    }
    found
}
