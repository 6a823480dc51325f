//! Completion: the `kubectl_complete-bluegreen` executable answers kubectl's plugin-completion
//! protocol with subcommands, flags, fixed values, contexts, namespaces and Services, through
//! the real kubectl against the sandbox; `completion SHELL` prints the shells' scripts.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// The completion executable under test.
const COMPLETE_BIN: &str = env!("CARGO_BIN_EXE_kubectl_complete-bluegreen");

/// What one completion request answered.
#[derive(Debug)]
struct Answer {
    code: i32,
    values: Vec<String>,
    descriptions: Vec<String>,
    directive: Option<u32>,
    stdout: String,
    stderr: String,
}

impl Answer {
    fn from(output: std::process::Output) -> Answer {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let mut values = Vec::new();
        let mut descriptions = Vec::new();
        let mut directive = None;
        for line in stdout.lines() {
            if let Some(bits) = line.strip_prefix(':') {
                directive = bits.parse().ok();
                continue;
            }
            let (value, description) = line.split_once('\t').unwrap_or((line, ""));
            values.push(value.to_string());
            descriptions.push(description.to_string());
        }
        Answer {
            code: output.status.code().unwrap_or(-1),
            values,
            descriptions,
            directive,
            stdout,
            stderr,
        }
    }

    #[track_caller]
    fn has(&self, wanted: &[&str]) -> &Answer {
        for w in wanted {
            assert!(
                self.values.iter().any(|v| v == w),
                "{w:?} not offered\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.stdout,
                self.stderr
            );
        }
        self
    }
}

/// Runs the completion executable directly with `words`, in an environment that reaches no
/// cluster unless `env` says so.
fn complete(home: &Path, words: &[&str], env: &[(&str, &str)]) -> Answer {
    let mut cmd = Command::new(COMPLETE_BIN);
    cmd.args(words)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("HOME", home);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Answer::from(cmd.output().expect("the completion executable runs"))
}

/// `kubectl __complete bluegreen WORDS...`, the request kubectl's shell scripts send, with the
/// folder of the built executables first on PATH.
fn kubectl_complete(kubectl: &Path, home: &Path, kubeconfig: &Path, words: &[&str]) -> Answer {
    let bin_dir = Path::new(COMPLETE_BIN)
        .parent()
        .expect("the binaries' folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    let output = Command::new(kubectl)
        .args(["__complete", "bluegreen"])
        .args(words)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .env("PATH", std::env::join_paths(dirs).expect("a PATH"))
        .output()
        .expect("kubectl runs");
    Answer::from(output)
}

fn sandbox_env(sb: &Sandbox) -> String {
    sb.kubeconfig_path().display().to_string()
}

#[test]
fn kubectl_completes_the_pair_service_first() {
    let Some(kubectl) = kubectl() else { return };
    let sb = start(Some("classic"));
    let home = tempfile::tempdir().expect("a temporary HOME");
    let answer = kubectl_complete(&kubectl, home.path(), sb.kubeconfig_path(), &["status", ""]);
    assert_eq!(answer.code, 0, "{answer:?}");
    assert_eq!(
        answer.values.first().map(String::as_str),
        Some("blueservice"),
        "{answer:?}"
    );
    answer.has(&["greenservice"]);
    // NoFileComp | KeepOrder: the shell keeps the pairs first and offers no file names.
    assert_eq!(answer.directive, Some(36), "{answer:?}");
    assert!(answer.descriptions[0].contains("app=blue"), "{answer:?}");

    let typed = kubectl_complete(
        &kubectl,
        home.path(),
        sb.kubeconfig_path(),
        &["status", "gr"],
    );
    assert_eq!(typed.values, ["greenservice"], "{typed:?}");
    assert_no_mutation(&sb);
}

#[test]
fn kubectl_completes_the_subcommands_and_flags() {
    let Some(kubectl) = kubectl() else { return };
    let sb = start(None);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let subcommands = kubectl_complete(&kubectl, home.path(), sb.kubeconfig_path(), &[""]);
    assert_eq!(subcommands.code, 0, "{subcommands:?}");
    subcommands.has(&["status", "completion", "help"]);
    assert_eq!(subcommands.directive, Some(4), "{subcommands:?}");
    assert!(!subcommands.values.iter().any(|v| v.starts_with('-')));

    let output = kubectl_complete(
        &kubectl,
        home.path(),
        sb.kubeconfig_path(),
        &["status", "blueservice", "-o", ""],
    );
    assert_eq!(
        output.values,
        ["table", "wide", "json", "yaml"],
        "{output:?}"
    );

    let flags = kubectl_complete(
        &kubectl,
        home.path(),
        sb.kubeconfig_path(),
        &["status", "--"],
    );
    flags.has(&[
        "--namespace",
        "--context",
        "--kubeconfig",
        "--output",
        "--watch",
    ]);
}

#[test]
fn contexts_come_from_the_kubeconfig_the_plugin_would_use() {
    let sb = start(None);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let kubeconfig = sandbox_env(&sb);

    let from_env = complete(
        home.path(),
        &["--context", ""],
        &[("KUBECONFIG", &kubeconfig)],
    );
    assert_eq!(
        from_env.values,
        ["sandbox", "sandbox-staging"],
        "{from_env:?}"
    );
    assert!(from_env.descriptions[0].contains("current"), "{from_env:?}");

    let from_flag = complete(
        home.path(),
        &[
            "status",
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "sandbox-s",
        ],
        &[],
    );
    assert_eq!(from_flag.values, ["sandbox-staging"], "{from_flag:?}");

    // ~/.kube/config when nothing else is given.
    std::fs::create_dir_all(home.path().join(".kube")).expect("a .kube folder");
    std::fs::copy(sb.kubeconfig_path(), home.path().join(".kube/config")).expect("copy");
    let from_home = complete(home.path(), &["--context="], &[]);
    assert_eq!(
        from_home.values,
        ["sandbox", "sandbox-staging"],
        "{from_home:?}"
    );
}

#[test]
fn namespaces_and_services_follow_the_context_and_namespace_flags() {
    let sb = start(Some("multi-key"));
    if let Err(e) = sb.load_scenario("staging") {
        panic!("the staging scenario does not load: {e}");
    }
    let home = tempfile::tempdir().expect("a temporary HOME");
    let env = [("KUBECONFIG", sandbox_env(&sb))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let namespaces = complete(home.path(), &["status", "-n", ""], &env);
    namespaces.has(&["default", "staging", "kube-system"]);
    assert_eq!(
        complete(home.path(), &["-n", "sta"], &env).values,
        ["staging"]
    );

    let default = complete(home.path(), &["status", ""], &env);
    assert_eq!(default.values, ["shop", "shop-green"], "{default:?}");

    let by_flag = complete(home.path(), &["-n", "staging", "status", ""], &env);
    assert_eq!(
        by_flag.values,
        ["blueservice", "greenservice"],
        "{by_flag:?}"
    );

    let by_context = complete(
        home.path(),
        &["status", "--context", "sandbox-staging", ""],
        &env,
    );
    assert_eq!(
        by_context.values,
        ["blueservice", "greenservice"],
        "{by_context:?}"
    );

    // Other colours on the line: nothing looks like a pair, plain name order.
    let other = complete(home.path(), &["status", "--colors", "v1,v2", ""], &env);
    assert_eq!(other.values, ["shop", "shop-green"], "{other:?}");
    assert!(other.descriptions[0].contains("color=blue"), "{other:?}");
    assert!(!other.descriptions[0].starts_with("selects"), "{other:?}");
    assert_no_mutation(&sb);
}

#[test]
fn without_a_cluster_there_are_no_candidates_and_no_messages() {
    let home = tempfile::tempdir().expect("a temporary HOME");
    for words in [&["status", ""][..], &["-n", ""][..], &["--context", ""][..]] {
        let answer = complete(home.path(), words, &[]);
        assert_eq!(answer.code, 0, "{answer:?}");
        assert!(answer.values.is_empty(), "{answer:?}");
        assert!(answer.directive.is_some(), "{answer:?}");
        assert_eq!(answer.stderr, "", "{answer:?}");
    }

    let broken = home.path().join("broken");
    std::fs::write(&broken, "clusters: [ {{{ token: s3cr3t").expect("write");
    let broken = broken.display().to_string();
    let answer = complete(home.path(), &["--kubeconfig", &broken, "status", ""], &[]);
    assert!(
        answer.values.is_empty() && answer.stderr.is_empty(),
        "{answer:?}"
    );
    assert!(!answer.stdout.contains("s3cr3t"));
}

#[test]
fn a_server_that_never_answers_costs_at_most_the_deadline() {
    // Accepts connections (the kernel completes the handshake) but never answers TLS.
    let silent = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = silent.local_addr().expect("its address").port();
    let sb = start(None);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let kubeconfig = edited_kubeconfig(&sb, home.path(), |text| {
        text.replace(sb.base_url(), &format!("https://127.0.0.1:{port}"))
    });
    let kubeconfig = kubeconfig.display().to_string();
    for words in [&["status", ""][..], &["-n", ""][..]] {
        let started = Instant::now();
        let answer = complete(home.path(), words, &[("KUBECONFIG", &kubeconfig)]);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert_eq!(answer.code, 0, "{answer:?}");
        assert!(answer.values.is_empty(), "{answer:?}");
        assert_eq!(answer.stderr, "", "{answer:?}");
    }
    drop(silent);
}

#[test]
fn completion_prints_each_shells_script() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kubectl-bluegreen"),
        ("fish", "complete -c kubectl-bluegreen"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = run(&["completion", shell]);
        run.expect_code(0).stdout_has(&[marker, "status"]);
        assert_eq!(run.stderr, "");
    }
    run(&["completion", "tcsh"])
        .expect_code(2)
        .stderr_has(&["tcsh"]);
    run(&["completion", "--help"]).expect_code(0).stdout_has(&[
        "Examples:",
        "source <(kubectl-bluegreen completion bash)",
        "kubectl_complete-bluegreen",
    ]);
}
