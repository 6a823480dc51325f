//! The real control plane: version, a Deployment through the real kubectl, EndpointSlices,
//! the pod behaviour annotations and RBAC. One control plane serves every test of this file.

mod common;

use std::time::{Duration, Instant};

use common::{apply, create_namespace, deployment, eventually, kubectl, pods, ready};

/// Tests in this file that use the shared control plane.
const TESTS: usize = 6;

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn version_is_the_pinned_one() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    assert_eq!(cp.version(), control_plane::kubernetes_version());
    let out = kubectl(cp, &["version", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("kubectl version JSON");
    assert_eq!(
        v["serverVersion"]["gitVersion"],
        control_plane::kubernetes_version()
    );
    assert!(cp.server_url().starts_with("https://127.0.0.1:"));
    // Three fake nodes, Ready, each with a pod CIDR.
    let nodes = kubectl(
        cp,
        &[
            "get",
            "nodes",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
        ],
    );
    let lines: Vec<&str> = nodes.lines().collect();
    assert_eq!(lines.len(), 3, "{nodes}");
    for l in lines {
        assert!(l.contains("10.244.") && l.ends_with("True"), "{l}");
    }
    // Namespace `staging` exists and the staging context points at it.
    kubectl(cp, &["get", "namespace", "staging"]);
    let ns = kubectl(
        cp,
        &[
            "--context",
            control_plane::STAGING_CONTEXT,
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.contexts[0].context.namespace}",
        ],
    );
    assert_eq!(ns, "staging");
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn deployment_becomes_available_with_endpoints() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    let ns = "t-deploy";
    create_namespace(cp, ns);
    let svc = r#"apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
"#;
    apply(cp, ns, &format!("{}---\n{svc}", deployment("web", 3, &[])));
    kubectl(
        cp,
        &[
            "rollout",
            "status",
            "-n",
            ns,
            "deployment/web",
            "--timeout=90s",
        ],
    );
    let available = kubectl(
        cp,
        &[
            "get",
            "deploy",
            "-n",
            ns,
            "web",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Available\")].status} {.status.readyReplicas}",
        ],
    );
    assert_eq!(available, "True 3");

    let items = pods(cp, ns, "web");
    assert_eq!(items.len(), 3);
    for p in &items {
        assert_eq!(ready(p), "True", "{p}");
        assert_eq!(p["status"]["phase"], "Running");
        let ip = p["status"]["podIP"].as_str().unwrap_or("");
        assert!(
            ip.starts_with("10.244."),
            "pod IP {ip:?} not from a node's pod CIDR"
        );
        assert!(
            p["spec"]["nodeName"]
                .as_str()
                .unwrap_or("")
                .starts_with("kwok-node-")
        );
    }

    // The EndpointSlice controller lists the three pod IPs, ready.
    eventually(
        Duration::from_secs(30),
        "3 ready endpoints for service web",
        || {
            let out = kubectl(
                cp,
                &[
                    "get",
                    "endpointslices",
                    "-n",
                    ns,
                    "-l",
                    "kubernetes.io/service-name=web",
                    "-o",
                    "json",
                ],
            );
            let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
            let ready: usize = v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                .filter(|e| e["conditions"]["ready"] == true)
                .count();
            if ready == 3 {
                Ok(())
            } else {
                Err(format!("{ready} ready endpoints: {out}"))
            }
        },
    );
    // A new ClusterIP from the service range.
    let ip = kubectl(
        cp,
        &[
            "get",
            "svc",
            "-n",
            ns,
            "web",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ],
    );
    assert!(ip.starts_with("10.96."), "{ip}");
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn never_ready_and_ready_after() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    let ns = "t-ready";
    create_namespace(cp, ns);
    let t0 = Instant::now();
    apply(
        cp,
        ns,
        &deployment("never", 1, &[("sandbox.bluegreen.dev/never-ready", "true")]),
    );
    apply(
        cp,
        ns,
        &deployment(
            "slow",
            1,
            &[("sandbox.bluegreen.dev/ready-after-ms", "4000")],
        ),
    );
    // Both run; `slow` turns Ready after ~4 s, `never` stays unready.
    eventually(Duration::from_secs(30), "pods running", || {
        let running = ["never", "slow"].iter().all(|app| {
            pods(cp, ns, app)
                .first()
                .is_some_and(|p| p["status"]["phase"] == "Running")
        });
        if running {
            Ok(())
        } else {
            Err("not running yet".into())
        }
    });
    if t0.elapsed() < Duration::from_secs(3) {
        let slow = pods(cp, ns, "slow");
        assert_eq!(
            ready(&slow[0]),
            "False",
            "ready-after-ms 4000 was Ready after {:?}",
            t0.elapsed()
        );
    }
    eventually(
        Duration::from_secs(30),
        "the ready-after-ms pod to turn Ready",
        || {
            let p = pods(cp, ns, "slow");
            if p.first().is_some_and(|p| ready(p) == "True") {
                Ok(())
            } else {
                Err(format!("{p:?}"))
            }
        },
    );
    let never = pods(cp, ns, "never");
    assert_eq!(never.len(), 1);
    assert_eq!(never[0]["status"]["phase"], "Running");
    assert_eq!(ready(&never[0]), "False");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(ready(&pods(cp, ns, "never")[0]), "False");
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn crash_loop_restarts_grow() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    let ns = "t-crash";
    create_namespace(cp, ns);
    apply(
        cp,
        ns,
        &deployment("crash", 1, &[("sandbox.bluegreen.dev/crash-loop", "true")]),
    );
    let mut saw_backoff = false;
    eventually(
        Duration::from_secs(40),
        "restartCount >= 2 and a CrashLoopBackOff",
        || {
            let p = pods(cp, ns, "crash");
            let Some(p) = p.first() else {
                return Err("no pod".into());
            };
            assert_ne!(ready(p), "True", "a crash-looping pod turned Ready: {p}");
            let cs = &p["status"]["containerStatuses"][0];
            if cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" {
                saw_backoff = true;
            }
            let restarts = cs["restartCount"].as_u64().unwrap_or(0);
            if restarts >= 2 && saw_backoff {
                Ok(())
            } else {
                Err(format!(
                    "restarts {restarts}, backoff seen {saw_backoff}: {cs}"
                ))
            }
        },
    );
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn unready_after_and_terminate_after() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    let ns = "t-lifecycle";
    create_namespace(cp, ns);
    apply(
        cp,
        ns,
        &deployment(
            "flaky",
            1,
            &[("sandbox.bluegreen.dev/unready-after-ms", "2000")],
        ),
    );
    apply(
        cp,
        ns,
        &deployment(
            "sticky",
            1,
            &[("sandbox.bluegreen.dev/terminate-after-ms", "4000")],
        ),
    );

    eventually(
        Duration::from_secs(30),
        "the unready-after-ms pod to turn Ready",
        || {
            let p = pods(cp, ns, "flaky");
            if p.first().is_some_and(|p| ready(p) == "True") {
                Ok(())
            } else {
                Err(format!("{p:?}"))
            }
        },
    );
    eventually(
        Duration::from_secs(30),
        "the unready-after-ms pod to turn unready",
        || {
            let p = pods(cp, ns, "flaky");
            if p.first().is_some_and(|p| ready(p) == "False") {
                Ok(())
            } else {
                Err(format!("{p:?}"))
            }
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        ready(&pods(cp, ns, "flaky")[0]),
        "False",
        "it must stay unready"
    );

    // terminate-after-ms: after deletion the pod stays (Terminating) for ~4 s.
    kubectl(
        cp,
        &[
            "rollout",
            "status",
            "-n",
            ns,
            "deployment/sticky",
            "--timeout=60s",
        ],
    );
    let name = pods(cp, ns, "sticky")[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    kubectl(
        cp,
        &["scale", "-n", ns, "deployment/sticky", "--replicas=0"],
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let p = kubectl(
        cp,
        &[
            "get",
            "pod",
            "-n",
            ns,
            &name,
            "--ignore-not-found",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ],
    );
    assert!(
        !p.is_empty(),
        "pod {name} should still be Terminating {:?} after deletion",
        t0.elapsed()
    );
    eventually(Duration::from_secs(30), "the Terminating pod to go", || {
        let p = kubectl(
            cp,
            &[
                "get",
                "pod",
                "-n",
                ns,
                &name,
                "--ignore-not-found",
                "-o",
                "name",
            ],
        );
        if p.trim().is_empty() { Ok(()) } else { Err(p) }
    });
    assert!(
        t0.elapsed() >= Duration::from_secs(3),
        "gone after only {:?}",
        t0.elapsed()
    );
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn non_admin_user_is_forbidden() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    // Admin may.
    kubectl(cp, &["get", "pods", "-n", "default"]);
    kubectl(cp, &["get", "secrets", "-n", "kube-system"]);
    // The developer user is authenticated (whoami works) but RBAC grants it nothing.
    let mut who = cp.user_kubectl();
    who.args([
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(common::run(who), control_plane::DEVELOPER_CERT_CN);
    for args in [
        &["get", "pods", "-n", "default"][..],
        &["get", "secrets", "-n", "kube-system"][..],
    ] {
        let out = cp
            .user_kubectl()
            .args(args)
            .output()
            .expect("kubectl on PATH");
        assert!(!out.status.success(), "{args:?} as developer should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Forbidden") || err.contains("forbidden"),
            "{args:?}: {err}"
        );
    }
    let can = cp
        .user_kubectl()
        .args(["auth", "can-i", "create", "deployments", "-n", "default"])
        .output()
        .expect("kubectl");
    assert_eq!(String::from_utf8_lossy(&can.stdout).trim(), "no");
    // Granting a role makes it work: RBAC is really in force.
    kubectl(
        cp,
        &[
            "create",
            "rolebinding",
            "dev-view",
            "-n",
            "default",
            "--clusterrole=view",
            &format!("--user={}", control_plane::DEVELOPER_CERT_CN),
        ],
    );
    eventually(Duration::from_secs(10), "the rolebinding to apply", || {
        let out = cp
            .user_kubectl()
            .args(["get", "pods", "-n", "default"])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    });
}
