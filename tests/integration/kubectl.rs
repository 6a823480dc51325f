//! Through the real kubectl, the way users run it: with the binary's folder first on PATH,
//! `kubectl bluegreen ...` finds the plugin and gives the same result as running it directly.

use std::path::Path;
use std::process::Command;

use crate::common::*;

fn through_kubectl(kubectl: &Path, home: &Path, args: &[&str]) -> Run {
    let plugin_dir = Path::new(BIN).parent().expect("the binary's folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![plugin_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    let output = Command::new(kubectl)
        .arg("bluegreen")
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .env("HOME", home)
        .env("PATH", std::env::join_paths(dirs).expect("a PATH"))
        .output()
        .expect("kubectl runs");
    crate::backends::run_of(output)
}

/// The output with each pod row's AGE column blanked: two runs may straddle a second.
fn without_ages(stdout: &str) -> String {
    stdout
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let is_pod_row = fields.len() >= 9 && fields.get(3).is_some_and(|f| f.contains('/'));
            if is_pod_row {
                let mut fields = fields;
                fields[5] = "<age>";
                fields.join(" ")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn kubectl_bluegreen_matches_the_binary() {
    let Some(kubectl) = kubectl() else { return };
    let sb = settled_scenario("classic");
    let home = tempfile::tempdir().expect("a temporary HOME");
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let args = ["status", "blueservice", "--kubeconfig", kubeconfig.as_str()];

    let plugin = through_kubectl(&kubectl, home.path(), &args);
    let direct = run_against(&sb, &args[..2]);
    plugin.expect_code(0);
    direct.expect_code(0);
    assert!(
        plugin
            .stdout
            .contains("Verdict: promote would move blueservice")
    );
    assert_eq!(without_ages(&plugin.stdout), without_ages(&direct.stdout));
    assert_secret_free(&sb, &plugin);

    let plugin_json = through_kubectl(
        &kubectl,
        home.path(),
        &[&args[..], &["-o", "json"]].concat(),
    );
    let direct_json = run_against(&sb, &["status", "blueservice", "-o", "json"]);
    let (a, b) = (plugin_json.json(), direct_json.json());
    for field in [
        "target",
        "service",
        "liveColour",
        "idleColour",
        "endpoints",
        "verdict",
    ] {
        assert_eq!(a[field], b[field], "{field}");
    }
    assert_no_mutation(&sb);
}

#[test]
fn kubectl_passes_the_exit_code_and_message_through() {
    let Some(kubectl) = kubectl() else { return };
    let sb = settled_scenario("classic");
    let home = tempfile::tempdir().expect("a temporary HOME");
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let args = ["status", "bluesvc", "--kubeconfig", kubeconfig.as_str()];
    let plugin = through_kubectl(&kubectl, home.path(), &args);
    let direct = run_against(&sb, &args[..2]);
    plugin.expect_code(4);
    direct.expect_code(4);
    assert_eq!(plugin.stderr, direct.stderr);
    plugin.stderr_has(&["did you mean \"blueservice\"?"]);
    assert_no_mutation(&sb);
}
