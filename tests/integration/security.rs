//! Security: credentials never reach the output, TLS verification is on unless the kubeconfig
//! itself turns it off (as with kubectl), and the README's RBAC Roles are exactly what the
//! commands need — every rule of them is used, and without any one of them a command stops
//! before its first change, naming the missing permission.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

/// The completion executable.
const COMPLETE_BIN: &str = env!("CARGO_BIN_EXE_kubectl_complete-bluegreen");

/// Standard base64 with padding, as kubeconfig `*-data` fields hold it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A throwaway client certificate and key.
struct ClientIdentity {
    cert_pem: String,
    key_pem: String,
}

fn client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate().expect("a key");
    let params =
        rcgen::CertificateParams::new(vec!["bluegreen-test-user".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("a certificate");
    ClientIdentity {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// The strings that must never be printed: the token, the key (PEM, its base64 body lines,
/// and the base64 of the PEM as the kubeconfig holds it).
fn secrets(sb: &Sandbox, identity: &ClientIdentity) -> Vec<String> {
    let mut secrets = vec![
        sb.token().to_string(),
        identity.key_pem.clone(),
        base64(identity.key_pem.as_bytes()),
    ];
    secrets.extend(
        identity
            .key_pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            .map(str::to_string),
    );
    // Any sizeable piece of the kubeconfig's key field.
    let data = base64(identity.key_pem.as_bytes());
    secrets.extend(
        data.as_bytes()
            .chunks(24)
            .filter(|c| c.len() == 24)
            .map(|c| String::from_utf8_lossy(c).into_owned()),
    );
    secrets
}

/// The sandbox's kubeconfig with a client certificate and key added to its token user.
fn kubeconfig_with_key(sb: &Sandbox, dir: &Path, identity: &ClientIdentity) -> PathBuf {
    edit_kubeconfig(sb, dir, |config| {
        let user = &mut config["users"][0]["user"];
        user["client-certificate-data"] = base64(identity.cert_pem.as_bytes()).into();
        user["client-key-data"] = base64(identity.key_pem.as_bytes()).into();
    })
}

fn edit_kubeconfig(sb: &Sandbox, dir: &Path, edit: impl FnOnce(&mut serde_yaml::Value)) -> PathBuf {
    let text = std::fs::read_to_string(sb.kubeconfig_path()).expect("the kubeconfig");
    let mut config: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
    edit(&mut config);
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&config).expect("YAML")).expect("write");
    path
}

#[track_caller]
fn assert_nothing_secret(secrets: &[String], what: &str, stdout: &str, stderr: &str) {
    for secret in secrets {
        assert!(
            !stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()),
            "{what}: a credential ({} characters) appears in the output",
            secret.len()
        );
    }
}

#[test]
fn no_command_prints_the_token_or_the_client_key() {
    let sb = settled_scenario("classic");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let identity = client_identity();
    let secrets = secrets(&sb, &identity);
    let kubeconfig = kubeconfig_with_key(&sb, dir.path(), &identity);
    let kubeconfig_text = kubeconfig.display().to_string();

    let commands: &[(&[&str], i32)] = &[
        (&["status", "blueservice"], 0),
        (&["status", "blueservice", "-o", "json"], 0),
        (&["status", "blueservice", "-o", "yaml"], 0),
        (&["status", "blueservice", "-o", "wide"], 0),
        (&["promote", "blueservice", "--dry-run"], 0),
        (&["promote", "blueservice", "--dry-run=server"], 0),
        (&["promote", "blueservice", "--yes", "--cleanup", "none"], 0),
        (
            &["rollback", "blueservice", "--yes", "--cleanup", "none"],
            0,
        ),
        (
            &["cleanup", "blueservice", "--yes", "--scale-down-delay", "0"],
            0,
        ),
        // A failing request's error, too.
        (&["status", "nothere"], 4),
        (&["completion", "bash"], 0),
        (&["completion", "zsh"], 0),
    ];
    let mut verbose_lines = 0;
    for (args, code) in commands {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-vv", "--kubeconfig", &kubeconfig_text]);
        let run = common::run(&all);
        let what = args.join(" ");
        assert_eq!(
            run.code, *code,
            "{what}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            run.stdout, run.stderr
        );
        assert_nothing_secret(&secrets, &what, &run.stdout, &run.stderr);
        verbose_lines += run.stderr.lines().count();
    }
    assert!(
        verbose_lines > 50,
        "-vv shows the requests ({verbose_lines} lines)"
    );

    // The completion executable reads the same kubeconfig to offer Service names.
    let home = tempfile::tempdir().expect("a temporary HOME");
    let output = Command::new(COMPLETE_BIN)
        .args(["-vv", "status", ""])
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", home.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("the completion executable runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stdout.contains("blueservice"), "{stdout}\n{stderr}");
    assert_nothing_secret(&secrets, "completion executable", &stdout, &stderr);
}

/// The token the failing exec plugins print before they exit non-zero.
const PLUGIN_TOKEN: &str = "secret-token-XYZ-5f1c0e";

/// Writes an executable shell script `name` in `dir` and returns its path.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write the plugin");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A shell command printing an ExecCredential with `token` (and `extra` status fields).
fn print_credential(token: &str, extra: &str) -> String {
    format!(
        "printf '%s\\n' '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"{extra}}}}}'\n"
    )
}

/// The sandbox's kubeconfig with its user's token replaced by the exec plugin `command`.
fn kubeconfig_with_exec(sb: &Sandbox, dir: &Path, command: &Path, interactive: &str) -> PathBuf {
    edit_kubeconfig(sb, dir, |config| {
        let exec: serde_yaml::Value = serde_yaml::from_str(&format!(
            "apiVersion: client.authentication.k8s.io/v1\ncommand: {}\ninteractiveMode: {interactive}\n",
            command.display()
        ))
        .expect("YAML");
        let mut user = serde_yaml::Mapping::new();
        user.insert("exec".into(), exec);
        config["users"][0]["user"] = user.into();
    })
}

#[test]
fn a_failing_exec_plugin_is_named_without_what_it_printed() {
    let sb = start(None);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let plugin = script(
        dir.path(),
        "get-token.sh",
        &format!(
            "{}echo 'get-token: the session expired, log in again' >&2\nexit 3\n",
            print_credential(PLUGIN_TOKEN, "")
        ),
    );
    let plugin_text = plugin.display().to_string();
    let secrets = vec![PLUGIN_TOKEN.to_string(), "secret-token".to_string()];
    // Captured stderr (interactiveMode Never) is quoted in the message; passed through
    // (IfAvailable) it reaches the terminal directly, as with kubectl.
    for interactive in ["Never", "IfAvailable"] {
        let kubeconfig = kubeconfig_with_exec(&sb, dir.path(), &plugin, interactive);
        let kubeconfig = kubeconfig.display().to_string();
        for verbosity in [None, Some("-v"), Some("-vv")] {
            let mut args = vec!["status", "blueservice", "--kubeconfig", &kubeconfig];
            args.extend(verbosity);
            let what = format!("interactiveMode {interactive}, {args:?}");
            let run = run(&args);
            run.expect_code(9).stderr_has(&[
                "cannot obtain credentials",
                &plugin_text,
                "exit code 3",
                "get-token: the session expired, log in again",
            ]);
            assert_nothing_secret(&secrets, &what, &run.stdout, &run.stderr);
            assert!(
                !run.stderr.contains("ExecCredential\""),
                "{what}: {}",
                run.stderr
            );
        }
    }
    assert!(sb.requests().is_empty(), "no request without a credential");
}

#[test]
fn an_exec_plugin_token_never_appears_even_at_vv() {
    let sb = settled_scenario("classic");
    let dir = tempfile::tempdir().expect("a temporary directory");
    // An expired credential: the client runs the plugin again before each request.
    let plugin = script(
        dir.path(),
        "get-token.sh",
        &print_credential(
            sb.token(),
            ",\"expirationTimestamp\":\"2000-01-01T00:00:00Z\"",
        ),
    );
    let kubeconfig = kubeconfig_with_exec(&sb, dir.path(), &plugin, "Never");
    let kubeconfig = kubeconfig.display().to_string();
    let secrets = vec![sb.token().to_string()];
    for args in [
        vec!["status", "blueservice"],
        vec!["status", "blueservice", "-o", "json"],
        vec!["promote", "blueservice", "--dry-run"],
    ] {
        let mut all = args.clone();
        all.extend(["-vv", "--kubeconfig", &kubeconfig]);
        let run = run(&all);
        let what = args.join(" ");
        run.expect_code(0);
        assert!(
            run.stderr.lines().count() > 5,
            "{what}: -vv logs the requests"
        );
        assert_nothing_secret(&secrets, &what, &run.stdout, &run.stderr);
    }
    assert!(!sb.requests().is_empty());
    assert!(
        sb.requests().iter().all(|r| r.status != 401),
        "the plugin's token was accepted"
    );
}

#[test]
fn an_exec_plugin_failing_on_refresh_is_named_without_what_it_printed() {
    let sb = settled_scenario("classic");
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The first run gives the sandbox's token, already expired; the refresh before the next
    // request prints a credential and fails.
    let marker = dir.path().join("ran-once");
    let plugin = script(
        dir.path(),
        "get-token.sh",
        &format!(
            "if [ -e '{marker}' ]; then\n{}echo 'refresh refused' >&2\nexit 1\nfi\ntouch '{marker}'\n{}",
            print_credential(PLUGIN_TOKEN, ""),
            print_credential(
                sb.token(),
                ",\"expirationTimestamp\":\"2000-01-01T00:00:00Z\""
            ),
            marker = marker.display(),
        ),
    );
    let kubeconfig = kubeconfig_with_exec(&sb, dir.path(), &plugin, "Never");
    let run = run(&[
        "status",
        "blueservice",
        "-vv",
        "--kubeconfig",
        &kubeconfig.display().to_string(),
    ]);
    run.expect_code(9).stderr_has(&[
        "cannot obtain credentials",
        &plugin.display().to_string(),
        "exit code 1",
        "refresh refused",
    ]);
    let secrets = vec![PLUGIN_TOKEN.to_string(), sb.token().to_string()];
    assert_nothing_secret(&secrets, "refresh", &run.stdout, &run.stderr);
}

/// Whether the real kubectl can read the Service through `kubeconfig`.
fn kubectl_succeeds(kubectl: &Path, kubeconfig: &Path) -> bool {
    Command::new(kubectl)
        .args(["--kubeconfig"])
        .arg(kubeconfig)
        .args(["get", "service", "blueservice", "-o", "name"])
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs")
        .status
        .success()
}

#[test]
fn tls_verification_is_on_unless_the_kubeconfig_turns_it_off() {
    let sb = settled_scenario("classic");
    let kubectl = kubectl();

    // No CA for the server's certificate: the system roots do not trust it.
    let no_ca = tempfile::tempdir().expect("a temporary directory");
    let path = edit_kubeconfig(&sb, no_ca.path(), |config| {
        if let Some(cluster) = config["clusters"][0]["cluster"].as_mapping_mut() {
            cluster.remove("certificate-authority-data");
        }
    });
    run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        &path.display().to_string(),
    ])
    .expect_code(8)
    .stderr_has(&[
        "TLS verification of the API server",
        "certificate-authority",
    ]);
    if let Some(kubectl) = &kubectl {
        assert!(!kubectl_succeeds(kubectl, &path), "kubectl refuses it too");
    }

    // The kubeconfig says to skip verification: then it works, as it does for kubectl.
    let skip = tempfile::tempdir().expect("a temporary directory");
    let path = edit_kubeconfig(&sb, skip.path(), |config| {
        let cluster = &mut config["clusters"][0]["cluster"];
        if let Some(map) = cluster.as_mapping_mut() {
            map.remove("certificate-authority-data");
        }
        cluster["insecure-skip-tls-verify"] = true.into();
    });
    run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        &path.display().to_string(),
    ])
    .expect_code(0)
    .stdout_has(&["bluedeploy", "greendeploy"]);
    if let Some(kubectl) = &kubectl {
        assert!(kubectl_succeeds(kubectl, &path), "kubectl accepts it too");
    }

    // Nothing on the command line turns verification off.
    run(&["status", "blueservice", "--insecure-skip-tls-verify"])
        .expect_code(2)
        .stderr_has(&["--insecure-skip-tls-verify"]);
    assert_no_mutation(&sb);
}

/// One (verb, resource) a README Role grants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    verb: String,
    resource: String,
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)
    }
}

/// The rules of the README's Role named `name`, one grant per verb and resource.
fn readme_role(name: &str) -> Vec<Grant> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let role = readme
        .split("```yaml")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains(&format!("name: {name}\n")))
        .unwrap_or_else(|| panic!("the README shows no Role {name}"));
    let doc: serde_yaml::Value = serde_yaml::from_str(role).expect("the Role is YAML");
    assert_eq!(doc["kind"], "Role", "{name} is a namespaced Role");
    let mut grants = Vec::new();
    for rule in doc["rules"].as_sequence().expect("rules") {
        for resource in rule["resources"].as_sequence().expect("resources") {
            for verb in rule["verbs"].as_sequence().expect("verbs") {
                grants.push(Grant {
                    verb: verb.as_str().expect("a verb").to_string(),
                    resource: resource.as_str().expect("a resource").to_string(),
                });
            }
        }
    }
    grants.sort();
    grants.dedup();
    grants
}

/// The sandbox policy that grants exactly `grants` in the pair's namespace.
fn policy(grants: &[Grant]) -> Policy {
    Policy::Rules(
        grants
            .iter()
            .map(|g| {
                PolicyRule::new(&[g.verb.as_str()], &[g.resource.as_str()])
                    .in_namespaces(&["default"])
            })
            .collect(),
    )
}

/// The (verb, resource) of every request in the log, SelfSubjectAccessReviews aside.
fn used(sb: &Sandbox) -> Vec<Grant> {
    let mut grants: Vec<Grant> = sb
        .requests()
        .iter()
        .filter(|r| !r.path.ends_with("/selfsubjectaccessreviews"))
        .filter_map(|r| {
            let parts: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
            // /api/v1/namespaces/NS/RES[/NAME[/SUB]] or /apis/G/V/namespaces/NS/RES[/NAME[/SUB]]
            let at = parts.iter().position(|p| *p == "namespaces")?;
            let rest = &parts[at + 2..];
            let resource = match rest {
                [] => return None,
                [res] | [res, _] => res.to_string(),
                [res, _, sub, ..] => format!("{res}/{sub}"),
            };
            let watch = r
                .query_param("watch")
                .is_some_and(|w| w == "true" || w == "1");
            let verb = match (r.method.as_str(), rest.len()) {
                ("GET", 1) if watch => "watch",
                ("GET", 1) => "list",
                ("GET", _) => "get",
                ("POST", _) => "create",
                ("PUT", _) => "update",
                ("PATCH", _) => "patch",
                ("DELETE", _) => "delete",
                _ => return None,
            };
            Some(Grant {
                verb: verb.to_string(),
                resource,
            })
        })
        .collect();
    grants.sort();
    grants.dedup();
    grants
}

/// Runs the binary against the sandbox and returns the run.
fn bluegreen(sb: &Sandbox, args: &[&str]) -> Run {
    run_against(sb, args)
}

#[test]
fn the_readme_status_role_is_exactly_what_status_needs() {
    let grants = readme_role("bluegreen-status");
    let sb = settled_scenario("classic");
    sb.set_policy(policy(&grants));
    bluegreen(&sb, &["status", "blueservice"])
        .expect_code(0)
        .stdout_has(&["safe"]);
    let forbidden: Vec<String> = sb
        .requests()
        .iter()
        .filter(|r| r.status == 403)
        .map(|r| r.path.clone())
        .collect();
    assert!(forbidden.is_empty(), "refused: {forbidden:?}");
    let mut needed = used(&sb);
    // `--watch` adds the watches.
    needed.extend(watches_of_status(&sb));
    needed.sort();
    needed.dedup();
    assert_eq!(
        grants, needed,
        "the status Role must be exactly what status and status --watch use"
    );
}

/// The (verb, resource) pairs `status --watch` uses: run it until it has drawn once, then
/// stop it.
fn watches_of_status(sb: &Sandbox) -> Vec<Grant> {
    sb.clear_requests();
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = command(home.path())
        .args(["status", "blueservice", "--watch", "--kubeconfig"])
        .arg(sb.kubeconfig_path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let started = std::time::Instant::now();
    loop {
        let watching = sb
            .requests()
            .iter()
            .filter(|r| {
                r.query_param("watch")
                    .is_some_and(|w| w == "true" || w == "1")
            })
            .count();
        if watching >= 4 || started.elapsed() > Duration::from_secs(20) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    used(sb)
}

/// The state in which a release command runs, and the command.
struct Stage {
    /// What prepares the state (run with every permission).
    setup: &'static [&'static [&'static str]],
    /// The command checked.
    command: &'static [&'static str],
}

/// The whole workflow, each command in the state the one before left: promote with
/// `--cleanup delete`, rollback (re-creating what was deleted), a promote that keeps the old
/// colour, and the `cleanup` that finishes it; plus `status --watch`.
const WORKFLOW: &[Stage] = &[
    Stage {
        setup: &[],
        command: &[
            "promote",
            "blueservice",
            "--yes",
            "--cleanup",
            "delete",
            "--scale-down-delay",
            "0",
        ],
    },
    Stage {
        setup: &[&[
            "promote",
            "blueservice",
            "--yes",
            "--cleanup",
            "delete",
            "--scale-down-delay",
            "0",
        ]],
        command: &["rollback", "blueservice", "--yes", "--cleanup", "none"],
    },
    Stage {
        setup: &[],
        command: &["promote", "blueservice", "--yes", "--scale-down-delay", "0"],
    },
    Stage {
        setup: &[&["promote", "blueservice", "--yes", "--cleanup", "none"]],
        command: &["cleanup", "blueservice", "--yes", "--scale-down-delay", "0"],
    },
    Stage {
        setup: &[&["promote", "blueservice", "--yes", "--scale-down-delay", "0"]],
        command: &[
            "rollback",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0",
        ],
    },
];

/// A settled classic pair brought to the stage's state with every permission.
fn staged(stage: &Stage) -> Sandbox {
    let sb = settled_scenario("classic");
    for setup in stage.setup {
        bluegreen(&sb, setup).expect_code(0);
        wait_settled(&sb);
    }
    sb.clear_requests();
    sb
}

/// Runs the binary against the sandbox, killing it after `limit` (a command that should stop
/// must not hang the test).
fn bounded(sb: &Sandbox, args: &[&str], limit: Duration) -> Run {
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = spawn_against(sb, home.path(), args);
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("the output");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_secret_free(sb, &run);
    run
}

#[test]
fn the_readme_release_role_runs_the_whole_workflow_and_every_rule_is_needed() {
    let grants = readme_role("bluegreen-release");
    let status_grants = readme_role("bluegreen-status");
    for g in &status_grants {
        assert!(grants.contains(g), "the release Role includes status's {g}");
    }

    // With exactly the Role, every command of the workflow succeeds; what each one used is
    // recorded. `status --watch` comes last.
    let mut used_by: Vec<(Vec<&str>, Vec<Grant>)> = Vec::new();
    for stage in WORKFLOW {
        let sb = staged(stage);
        sb.set_policy(policy(&grants));
        bluegreen(&sb, stage.command).expect_code(0);
        let refused: Vec<String> = sb
            .requests()
            .iter()
            .filter(|r| r.status == 403)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(
            refused.is_empty(),
            "{:?}: refused {refused:?}",
            stage.command
        );
        used_by.push((stage.command.to_vec(), used(&sb)));
    }
    let sb = settled_scenario("classic");
    sb.set_policy(policy(&grants));
    used_by.push((
        vec!["status", "blueservice", "--watch"],
        watches_of_status(&sb),
    ));
    let mut needed: Vec<Grant> = used_by.iter().flat_map(|(_, g)| g.clone()).collect();
    needed.sort();
    needed.dedup();
    assert_eq!(
        grants, needed,
        "the release Role must be exactly what the workflow uses"
    );

    // Without any one rule, the first command of the workflow that uses it stops before its
    // first change, with exit 9, naming the missing permission.
    let check = |missing: &Grant| -> String {
        let fewer: Vec<Grant> = grants.iter().filter(|g| *g != missing).cloned().collect();
        let index = used_by
            .iter()
            .position(|(_, used)| used.contains(missing))
            .expect("every rule is used");
        let (command, _) = &used_by[index];
        let sb = match WORKFLOW.get(index) {
            Some(stage) => staged(stage),
            None => settled_scenario("classic"),
        };
        sb.set_policy(policy(&fewer));
        let run = bounded(&sb, command, Duration::from_secs(60));
        assert_eq!(
            run.code,
            9,
            "without {missing}: `{}` exits 9\n{}",
            command.join(" "),
            run.stderr
        );
        assert_no_mutation(&sb);
        let (verb, resource) = (&missing.verb, &missing.resource);
        // As the messages name it: `list deployments.apps`, `patch deployments.apps/scale`.
        let named = match resource.split_once('/') {
            Some((res, sub)) => format!("{verb} {res}.apps/{sub}"),
            None => format!("{verb} {resource}"),
        };
        assert!(
            run.stderr.contains(&named),
            "without {missing}: `{}` must name {named:?}\n{}",
            command.join(" "),
            run.stderr
        );
        format!("without {missing}: `{}` stops", command.join(" "))
    };
    let shown: Vec<String> = std::thread::scope(|scope| {
        let mut shown = Vec::new();
        for pair in grants.chunks(2) {
            let handles: Vec<_> = pair.iter().map(|g| scope.spawn(move || check(g))).collect();
            for handle in handles {
                match handle.join() {
                    Ok(line) => shown.push(line),
                    Err(e) => std::panic::resume_unwind(e),
                }
            }
        }
        shown
    });
    assert_eq!(shown.len(), grants.len());
    eprintln!("{}", shown.join("\n"));
}
