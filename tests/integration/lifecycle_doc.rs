//! docs/lifecycle.md works as written: its files are written and its `sh` blocks run, in order,
//! through bash and the real kubectl (the plugin found on PATH, as users run it) against a
//! sandbox, and the cluster is checked after each block.
//!
//! The page marks each block: `<!-- file: NAME -->` before a `yaml` block that the commands
//! read as NAME, `<!-- test: STEP -->` before every `sh` block; [`check`] knows each STEP.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use serde_json::Value;

/// One marked block of the page.
#[derive(Debug)]
enum Block {
    File { name: String, text: String },
    Commands { step: String, script: String },
}

/// The marked blocks of the page, in order; an unmarked `sh` block is an error.
fn blocks(page: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut marker: Option<(String, String)> = None;
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line
            .strip_prefix("<!-- ")
            .and_then(|r| r.strip_suffix(" -->"))
            && let Some((kind, name)) = rest.split_once(": ")
        {
            marker = Some((kind.to_string(), name.trim().to_string()));
            continue;
        }
        let Some(lang) = line.strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let text = body.join("\n") + "\n";
        match (lang, marker.take()) {
            ("sh", Some((kind, step))) if kind == "test" => {
                blocks.push(Block::Commands { step, script: text })
            }
            ("sh", other) => panic!("an sh block without a test marker ({other:?}):\n{text}"),
            (_, Some((kind, name))) if kind == "file" => blocks.push(Block::File { name, text }),
            (_, Some(other)) => panic!("a marker before a {lang} block: {other:?}"),
            (_, None) => {}
        }
    }
    blocks
}

/// `kubectl get KIND NAME -o json`, or `None` when it does not exist.
fn get(kubectl: &Path, env: &Env, kind: &str, name: &str) -> Option<Value> {
    let output = env
        .command(kubectl)
        .args(["get", kind, name, "-o", "json"])
        .output()
        .expect("kubectl runs");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("NotFound"),
            "kubectl get {kind} {name}: {stderr}"
        );
        return None;
    }
    Some(serde_json::from_slice(&output.stdout).expect("kubectl prints JSON"))
}

/// Where the page's commands run: the sandbox's kubeconfig, a HOME of their own, the plugin's
/// folder first on PATH, a working folder holding the page's files.
struct Env {
    kubeconfig: String,
    home: tempfile::TempDir,
    work: tempfile::TempDir,
    path: std::ffi::OsString,
}

impl Env {
    fn new(sb: &Sandbox) -> Env {
        let plugin_dir = Path::new(BIN).parent().expect("the binary's folder");
        let mut dirs = vec![plugin_dir.to_path_buf()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        Env {
            kubeconfig: sb.kubeconfig_path().display().to_string(),
            home: tempfile::tempdir().expect("a temporary HOME"),
            work: tempfile::tempdir().expect("a working folder"),
            path: std::env::join_paths(dirs).expect("a PATH"),
        }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.work.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .env("PATH", &self.path)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("NO_COLOR");
        cmd
    }
}

/// The cluster as the checks see it.
struct Cluster<'a> {
    kubectl: &'a Path,
    env: &'a Env,
}

impl Cluster<'_> {
    fn selector(&self) -> Value {
        get(self.kubectl, self.env, "service", "web").expect("Service web")["spec"]["selector"]
            .clone()
    }

    fn replicas(&self, deployment: &str) -> Option<i64> {
        get(self.kubectl, self.env, "deployment", deployment)
            .map(|d| d["spec"]["replicas"].as_i64().expect("spec.replicas"))
    }

    fn image(&self, deployment: &str) -> String {
        let d = get(self.kubectl, self.env, "deployment", deployment).expect("the Deployment");
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .expect("an image")
            .to_string()
    }

    fn has_service(&self, name: &str) -> bool {
        get(self.kubectl, self.env, "service", name).is_some()
    }
}

/// What must hold after each step of the page.
fn check(step: &str, cluster: &Cluster) {
    let colour = |c: &str| serde_json::json!({"app": "web", "color": c});
    match step {
        "start" => {
            assert_eq!(cluster.selector(), serde_json::json!({"app": "web"}));
            assert_eq!(cluster.replicas("web"), Some(2));
        }
        "blue" => {
            assert_eq!(cluster.selector(), colour("blue"));
            assert_eq!(cluster.replicas("web"), None, "web is deleted");
            assert_eq!(cluster.replicas("web-blue"), Some(2));
        }
        "green" => {
            assert_eq!(cluster.selector(), colour("blue"));
            assert_eq!(cluster.replicas("web-green"), Some(2));
            assert!(cluster.has_service("web-green"));
        }
        "promote-scale-down" => {
            assert_eq!(cluster.selector(), colour("green"));
            assert_eq!(cluster.replicas("web-blue"), Some(0));
            assert_eq!(cluster.replicas("web-green"), Some(2));
        }
        "promote-delete" => {
            assert_eq!(cluster.selector(), colour("blue"));
            assert_eq!(cluster.replicas("web-blue"), Some(2));
            assert_eq!(cluster.image("web-blue"), "registry.example.com/web:3.0");
            assert_eq!(cluster.replicas("web-green"), None, "web-green is deleted");
            assert!(!cluster.has_service("web-green"), "the test Service too");
        }
        "recreate" => {
            assert_eq!(cluster.selector(), colour("green"));
            assert_eq!(cluster.image("web-green"), "registry.example.com/web:4.0");
            assert_eq!(cluster.replicas("web-green"), Some(2));
            assert_eq!(cluster.replicas("web-blue"), Some(0));
        }
        "rollback" => {
            assert_eq!(cluster.selector(), colour("blue"));
            assert_eq!(cluster.replicas("web-blue"), Some(2));
            assert_eq!(cluster.image("web-blue"), "registry.example.com/web:3.0");
            assert_eq!(cluster.replicas("web-green"), Some(0));
        }
        other => panic!("docs/lifecycle.md has a step the test does not check: {other}"),
    }
}

#[test]
fn the_lifecycle_page_runs_as_written() {
    let Some(kubectl) = kubectl() else { return };
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lifecycle.md"))
            .expect("docs/lifecycle.md");
    let blocks = blocks(&page);
    let steps: Vec<&str> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Commands { step, .. } => Some(step.as_str()),
            Block::File { .. } => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            "start",
            "blue",
            "green",
            "promote-scale-down",
            "promote-delete",
            "recreate",
            "rollback"
        ],
        "every step of the page runs and is checked"
    );

    let sb = start(None);
    let env = Env::new(&sb);
    let cluster = Cluster {
        kubectl: &kubectl,
        env: &env,
    };
    for block in &blocks {
        match block {
            Block::File { name, text } => {
                std::fs::write(env.work.path().join(name), text).expect("write the page's file")
            }
            Block::Commands { step, script } => {
                let output = env
                    .command("bash")
                    .args(["--norc", "--noprofile", "-euo", "pipefail", "-c"])
                    .arg(script)
                    .output()
                    .expect("bash runs");
                let stdout = String::from_utf8_lossy(&output.stdout);
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    output.status.success(),
                    "step {step} failed ({}):\n{script}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                    output.status
                );
                assert!(!stdout.contains(sb.token()) && !stderr.contains(sb.token()));
                check(step, &cluster);
            }
        }
    }
}
