//! Completion: the `kubectl_complete-bluegreen` executable answers kubectl's plugin-completion
//! protocol with subcommands, flags, fixed values, contexts, namespaces and Services, through
//! the real kubectl against the sandbox; `completion SHELL` prints the shells' scripts, and
//! bash, zsh and fish loading them complete real command lines (drivers in
//! `tests/completion_shells/`). Service names completed from a cluster's namespaces are
//! checked on both back-ends in `integration/both_backends/completion.rs`.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

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

/// A shell from PATH, or `None` when it is missing and this is not CI: on CI (`CI=true`) its
/// absence fails the test (`.ci/run` installs bash, zsh and fish).
fn shell(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not on PATH; CI must install it to test its completion script"
        );
        eprintln!("{name} is not on PATH; skipping its completion script");
    }
    found
}

/// The folder of the scripts that drive each shell's completion.
fn drivers() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/completion_shells")
}

/// What one shell offered for one command line.
#[derive(Debug)]
struct Offered {
    line: String,
    values: Vec<String>,
    output: String,
}

impl Offered {
    fn from(line: String, output: std::process::Output, value: impl Fn(&str) -> String) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "completing {line:?} failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        let values = stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(value)
            .collect();
        Offered {
            line,
            values,
            output: format!("{stdout}{stderr}"),
        }
    }

    #[track_caller]
    fn has(&self, wanted: &[&str]) -> &Self {
        for w in wanted {
            assert!(
                self.values.iter().any(|v| v == w),
                "{w:?} not offered for {:?}; offered {:?}\n{}",
                self.line,
                self.values,
                self.output
            );
        }
        self
    }

    #[track_caller]
    fn lacks(&self, unwanted: &[&str]) -> &Self {
        for u in unwanted {
            assert!(
                !self.values.iter().any(|v| v == u),
                "{u:?} offered for {:?}: {:?}",
                self.line,
                self.values
            );
        }
        self
    }

    #[track_caller]
    fn exactly(&self, wanted: &[&str]) -> &Self {
        let mut got: Vec<&str> = self.values.iter().map(String::as_str).collect();
        got.sort_unstable();
        got.dedup();
        let mut want = wanted.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "for {:?}\n{}", self.line, self.output);
        self
    }
}

/// The command lines every shell must complete, as words after `kubectl-bluegreen` (the last
/// one being completed), and the checks on what is offered.
fn check_the_common_lines(complete: impl Fn(&[&str]) -> Offered) {
    complete(&[""]).has(&["status", "promote", "rollback", "cleanup", "completion"]);
    complete(&["st"]).exactly(&["status"]);
    complete(&["status", "-"])
        .has(&["--output", "--watch", "--namespace", "--context", "-o"])
        .lacks(&["--wait", "--cleanup", "--force"]);
    complete(&["status", "-o", ""]).exactly(&["table", "wide", "json", "yaml"]);
    complete(&["status", "web", "--output", "j"]).exactly(&["json"]);
    complete(&["promote", "--cleanup", ""]).exactly(&["scale-down", "delete", "none"]);
    complete(&["promote", "web", "--cleanup", "d"]).exactly(&["delete"]);
    complete(&["promote", "--"]).has(&["--wait", "--to", "--cleanup", "--dry-run"]);
    complete(&["rollback", "--"])
        .has(&["--cleanup", "--force", "--timeout"])
        .lacks(&["--wait", "--to", "--output"]);
    complete(&["cleanup", "--c"]).has(&["--cleanup", "--context", "--colors"]);
}

/// Writes `completion SHELL`'s output to `dir/name`.
fn write_script(shell: &str, dir: &Path, name: &str) -> std::path::PathBuf {
    let script = run(&["completion", shell]);
    script.expect_code(0);
    let path = dir.join(name);
    std::fs::write(&path, &script.stdout).expect("write the script");
    path
}

#[test]
fn bash_completes_subcommands_flags_and_values() {
    let Some(bash) = shell("bash") else { return };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let script = write_script("bash", dir.path(), "kubectl-bluegreen.bash");
    check_the_common_lines(|words| {
        let output = Command::new(&bash)
            .args(["--norc", "--noprofile"])
            .arg(drivers().join("bash.sh"))
            .arg(&script)
            .arg("kubectl-bluegreen")
            .args(words)
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .output()
            .expect("bash runs");
        Offered::from(
            format!("kubectl-bluegreen {}", words.join(" ")),
            output,
            |l| l.to_string(),
        )
    });
}

#[test]
fn zsh_completes_subcommands_flags_and_values() {
    let Some(zsh) = shell("zsh") else { return };
    let dir = tempfile::tempdir().expect("a temporary folder");
    write_script("zsh", dir.path(), "_kubectl-bluegreen");
    check_the_common_lines(|words| {
        let line = format!("kubectl-bluegreen {}", words.join(" "));
        let output = Command::new(&zsh)
            .arg("-f")
            .arg(drivers().join("zsh.zsh"))
            .arg(dir.path())
            .arg(&line)
            .env("HOME", dir.path())
            .env("TERM", "xterm")
            .current_dir(dir.path())
            .output()
            .expect("zsh runs");
        Offered::from(line, output, |l| l.to_string())
    });
}

#[test]
fn fish_completes_subcommands_flags_and_values() {
    let Some(fish) = shell("fish") else { return };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let script = write_script("fish", dir.path(), "kubectl-bluegreen.fish");
    check_the_common_lines(|words| {
        let line = format!("kubectl-bluegreen {}", words.join(" "));
        let output = Command::new(&fish)
            .arg("--no-config")
            .arg("-c")
            .arg("source $argv[1]; and complete --do-complete $argv[2]")
            .arg(&script)
            .arg(&line)
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .output()
            .expect("fish runs");
        // fish prints `candidate<TAB>description`.
        Offered::from(line, output, |l| {
            l.split('\t').next().unwrap_or_default().to_string()
        })
    });
}
