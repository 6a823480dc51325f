//! Completion against a cluster: Service names come from the namespace the command line and
//! the kubeconfig point at, the pair's production Service first. (Completion that needs no
//! cluster, and the shells' scripts, are in `tests/completion.rs`.)

use std::path::Path;
use std::process::Command;

use crate::backends::{Cluster, Snapshot};
use crate::both_backends;

/// The completion executable under test.
const COMPLETE_BIN: &str = env!("CARGO_BIN_EXE_kubectl_complete-bluegreen");

/// What one completion request answered: the candidates, their descriptions and the directive.
#[derive(Debug)]
struct Answer {
    code: i32,
    values: Vec<String>,
    descriptions: Vec<String>,
    directive: Option<u32>,
}

impl Answer {
    fn from(output: std::process::Output) -> Answer {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut answer = Answer {
            code: output.status.code().unwrap_or(-1),
            values: Vec::new(),
            descriptions: Vec::new(),
            directive: None,
        };
        for line in stdout.lines() {
            if let Some(bits) = line.strip_prefix(':') {
                answer.directive = bits.parse().ok();
                continue;
            }
            let (value, description) = line.split_once('\t').unwrap_or((line, ""));
            answer.values.push(value.to_string());
            answer.descriptions.push(description.to_string());
        }
        answer
    }
}

/// Runs the completion executable directly with `words` and `KUBECONFIG=kubeconfig`.
fn complete(kubeconfig: &Path, words: &[&str]) -> Answer {
    let home = tempfile::tempdir().expect("a temporary HOME");
    let output = Command::new(COMPLETE_BIN)
        .args(words)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("HOME", home.path())
        .output()
        .expect("the completion executable runs");
    Answer::from(output)
}

/// `kubectl __complete bluegreen WORDS...`, the request kubectl's shell scripts send, with the
/// folder of the built executables first on PATH.
fn kubectl_complete(kubeconfig: &Path, words: &[&str]) -> Answer {
    let bin_dir = Path::new(COMPLETE_BIN)
        .parent()
        .expect("the binaries' folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    let home = tempfile::tempdir().expect("a temporary HOME");
    let output = Command::new("kubectl")
        .args(["__complete", "bluegreen"])
        .args(words)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home.path())
        .env("PATH", std::env::join_paths(dirs).expect("a PATH"))
        .output()
        .expect("kubectl runs");
    Answer::from(output)
}

fn kubectl_completes_the_pair_service_first(c: &dyn Cluster) {
    super::pair::classic(c);
    let before = Snapshot::take(c);
    let answer = kubectl_complete(c.kubeconfig_path(), &["status", ""]);
    assert_eq!(answer.code, 0, "{answer:?}");
    assert_eq!(
        answer.values.first().map(String::as_str),
        Some("blueservice"),
        "{answer:?}"
    );
    assert!(
        answer.values.iter().any(|v| v == "greenservice"),
        "{answer:?}"
    );
    // NoFileComp | KeepOrder: the shell keeps the pairs first and offers no file names.
    assert_eq!(answer.directive, Some(36), "{answer:?}");
    assert!(answer.descriptions[0].contains("app=blue"), "{answer:?}");

    let typed = kubectl_complete(c.kubeconfig_path(), &["status", "gr"]);
    assert_eq!(typed.values, ["greenservice"], "{typed:?}");
    before.assert_unchanged(c);
}

/// A copy of the cluster's kubeconfig whose current context looks at `kube-public` (no
/// Services) and whose second context looks at the test's namespace.
fn kubeconfig_elsewhere(c: &dyn Cluster, dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(c.kubeconfig_path()).expect("the kubeconfig");
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
    for context in doc["contexts"].as_sequence_mut().expect("contexts") {
        let namespace = if context["name"].as_str() == Some(control_plane::STAGING_CONTEXT) {
            c.namespace().to_string()
        } else {
            "kube-public".to_string()
        };
        context["context"]["namespace"] = serde_yaml::Value::from(namespace);
    }
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&doc).expect("YAML")).expect("a kubeconfig");
    path
}

fn namespaces_and_services_follow_the_context_and_namespace_flags(c: &dyn Cluster) {
    super::pair::classic(c);
    let before = Snapshot::take(c);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = kubeconfig_elsewhere(c, dir.path());
    let ns = c.namespace();

    let namespaces = complete(&kubeconfig, &["status", "-n", ""]);
    for wanted in [ns, "default", "kube-system", "kube-public"] {
        assert!(
            namespaces.values.iter().any(|v| v == wanted),
            "{wanted} not offered: {namespaces:?}"
        );
    }
    assert_eq!(complete(&kubeconfig, &["-n", ns]).values, [ns]);

    // The current context's namespace has no Service.
    let current = complete(&kubeconfig, &["status", ""]);
    assert_eq!(current.values, Vec::<String>::new(), "{current:?}");

    let by_flag = complete(&kubeconfig, &["-n", ns, "status", ""]);
    assert_eq!(
        by_flag.values,
        ["blueservice", "greenservice"],
        "{by_flag:?}"
    );

    let by_context = complete(
        &kubeconfig,
        &["status", "--context", control_plane::STAGING_CONTEXT, ""],
    );
    assert_eq!(
        by_context.values,
        ["blueservice", "greenservice"],
        "{by_context:?}"
    );

    // Other colours on the line: nothing looks like a pair, plain name order, and the
    // description shows the selector, not a pair.
    let other = complete(&kubeconfig, &["-n", ns, "status", "--colors", "v1,v2", ""]);
    assert_eq!(other.values, ["blueservice", "greenservice"], "{other:?}");
    assert!(other.descriptions[0].contains("app=blue"), "{other:?}");
    assert!(!other.descriptions[0].starts_with("selects"), "{other:?}");
    before.assert_unchanged(c);
}

both_backends!(
    kubectl_completes_the_pair_service_first,
    namespaces_and_services_follow_the_context_and_namespace_flags,
);
