//! `status` through the built binary against the sandbox: each sandbox scenario, the
//! flags that find a pair, namespaces, and the JSON/YAML document checked field by field.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

#[test]
fn classic_pair_side_by_side() {
    let sb = settled_scenario("classic");
    let run = run_against(&sb, &["status", "blueservice"]);
    run.expect_code(0).stdout_has(&[
        "Context:   sandbox\n",
        &format!("Cluster:   sandbox ({})\n", sb.base_url()),
        "Namespace: default\n",
        "Service:   blueservice  selector app=blue  colour label app",
        "nginx:blue",
        "nginx:green",
        "3 desired, 3 updated, 3 ready, 3 available",
        "complete (generation 1)",
        "greenservice",
        "Verdict: promote would move blueservice from blue to green: safe",
    ]);
    let out = &run.stdout;
    let header = out
        .lines()
        .find(|l| l.contains("BLUE"))
        .expect("a colour header");
    let (blue, green) = (header.find("BLUE  ● live"), header.find("GREEN  ○ idle"));
    assert!(
        blue.is_some() && green.is_some() && blue < green,
        "{header}"
    );
    let deployments = out
        .lines()
        .find(|l| l.starts_with("Deployment"))
        .expect("a Deployment row");
    assert!(deployments.contains("bluedeploy") && deployments.contains("greendeploy"));
    let blue_pods = pod_rows(out, "blue");
    let green_pods = pod_rows(out, "green");
    assert_eq!((blue_pods.len(), green_pods.len()), (3, 3), "{out}");
    for row in &blue_pods {
        assert!(
            row.contains("Running") && row.contains("1/1") && row.ends_with("ready"),
            "{row}"
        );
        assert!(
            row.contains("sandbox-node-") && row.contains("10.244."),
            "{row}"
        );
    }
    for row in &green_pods {
        assert!(
            row.ends_with('-'),
            "green pods are not behind blueservice: {row}"
        );
    }
    assert!(
        !out.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    assert_no_mutation(&sb);
}

#[test]
fn reads_are_label_selected_and_paginated() {
    let sb = settled_scenario("classic");
    run_against(&sb, &["status", "blueservice"]).expect_code(0);
    let requests = sb.requests();
    let pod_lists: Vec<String> = requests
        .iter()
        .filter(|r| r.path == "/api/v1/namespaces/default/pods")
        .filter_map(|r| r.query_param("labelSelector"))
        .collect();
    assert_eq!(pod_lists.len(), 2, "{requests:?}");
    assert!(pod_lists.contains(&"app=blue".to_string()));
    assert!(pod_lists.contains(&"app=green".to_string()));
    let slices = requests
        .iter()
        .find(|r| r.path.ends_with("/endpointslices"))
        .expect("an EndpointSlice list");
    assert_eq!(
        slices.query_param("labelSelector").as_deref(),
        Some("kubernetes.io/service-name=blueservice")
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "GET" && r.query_param("labelSelector").is_some())
            .all(|r| r.query_param("limit").is_some()),
        "lists are paginated"
    );
    assert!(requests.iter().all(|r| r.method == "GET"));
}

#[test]
fn green_not_ready_is_not_safe() {
    let sb = settled_scenario("green-not-ready");
    let run = run_against(&sb, &["status", "blueservice"]);
    run.expect_code(0).stdout_has(&[
        "Verdict: promote would move blueservice from blue to green: not safe",
        "green is not ready (0/3 pods ready)",
    ]);
    for row in pod_rows(&run.stdout, "green") {
        assert!(row.contains("0/1"), "{row}");
    }
    assert_no_mutation(&sb);
}

#[test]
fn crash_looping_green_is_shown_and_not_safe() {
    let sb = settled_scenario("green-crashloop");
    let doc = wait_for_json(
        &sb,
        &["status", "blueservice"],
        Duration::from_secs(20),
        |d| {
            d["colours"][1]["pods"]
                .as_array()
                .is_some_and(|pods| pods.iter().any(|p| p["status"] == "CrashLoopBackOff"))
        },
    );
    assert_eq!(doc["verdict"]["safe"], false);
    let run = run_against(&sb, &["status", "blueservice"]);
    run.expect_code(0).stdout_has(&[
        "CrashLoopBackOff",
        "not safe",
        "3 green pods are CrashLoopBackOff (up to",
    ]);
    assert_no_mutation(&sb);
}

#[test]
fn promoted_pair_shows_green_live() {
    let sb = settled_scenario("promoted");
    let run = run_against(&sb, &["status", "blueservice"]);
    run.expect_code(0).stdout_has(&[
        "selector app=green",
        "BLUE  ○ idle",
        "GREEN  ● live",
        // Flipped by hand, no journal: a Service with the live colour's selector is another
        // entry point, which cleaning green up would empty.
        "Verdict: promote would move blueservice from green to blue: not safe: cleaning up green would leave greenservice with no endpoints",
    ]);
    for row in pod_rows(&run.stdout, "green") {
        assert!(row.ends_with("ready"), "{row}");
    }
    for row in pod_rows(&run.stdout, "blue") {
        assert!(row.ends_with('-'), "{row}");
    }
    assert_no_mutation(&sb);
}

#[test]
fn multi_key_selector_finds_the_colour_key() {
    let sb = settled_scenario("multi-key");
    let doc = run_against(&sb, &["status", "shop", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["service"]["colourLabel"], "color");
    assert_eq!(doc["colours"][0]["deployment"]["name"], "shop-blue");
    assert_eq!(doc["colours"][1]["deployment"]["name"], "shop-green");
    assert_eq!(doc["colours"][1]["testServices"][0], "shop-green");
    assert_eq!(doc["colours"][0]["selector"]["app"], "shop");
    assert_no_mutation(&sb);
}

const TRACKS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web, track: v1}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v1}
spec:
  replicas: 2
  selector: {matchLabels: {app: web, track: v1}}
  template:
    metadata: {labels: {app: web, track: v1}}
    spec:
      containers: [{name: web, image: "shop:1.0"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v2}
spec:
  replicas: 2
  selector: {matchLabels: {app: web, track: v2}}
  template:
    metadata: {labels: {app: web, track: v2}}
    spec:
      containers: [{name: web, image: "shop:2.0"}]
"#;

#[test]
fn custom_label_and_colours() {
    let sb = start(None);
    sb.load_yaml(TRACKS).expect("load the pair");
    wait_settled(&sb);
    sb.clear_requests();

    run_against(&sb, &["status", "web"])
        .expect_code(4)
        .stderr_has(&["neither colour \"blue\" nor \"green\""]);

    let run = run_against(
        &sb,
        &["status", "web", "--label", "track", "--colors", "v1,v2"],
    );
    run.expect_code(0).stdout_has(&[
        "colour label track",
        "V1  ● live",
        "V2  ○ idle",
        "shop:2.0",
        "promote would move web from v1 to v2: safe",
    ]);
    assert_eq!(pod_rows(&run.stdout, "v1").len(), 2);
    assert_eq!(pod_rows(&run.stdout, "v2").len(), 2);

    run_against(
        &sb,
        &["status", "web", "--label", "app", "--colors", "v1,v2"],
    )
    .expect_code(4)
    .stderr_has(&["app=web is not one of the colours"]);
    assert_no_mutation(&sb);
}

#[test]
fn second_namespace_through_flag_and_context() {
    let sb = settled_scenario("staging");
    run_against(&sb, &["status", "blueservice"]).expect_code(4);
    for args in [
        ["status", "blueservice", "-n", "staging"],
        ["status", "blueservice", "--context", "sandbox-staging"],
    ] {
        let run = run_against(&sb, &args);
        run.expect_code(0)
            .stdout_has(&["Namespace: staging\n", "bluedeploy", "safe"]);
        if args.contains(&"--context") {
            run.stdout_has(&["Context:   sandbox-staging\n"]);
        }
    }
    assert!(
        sb.requests()
            .iter()
            .filter(|r| r.path.contains("/pods"))
            .all(|r| r.path.starts_with("/api/v1/namespaces/staging/")),
    );
    assert_no_mutation(&sb);
}

#[test]
fn json_document_field_by_field() {
    let sb = settled_scenario("classic");
    let doc: Value = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["apiVersion"], "bluegreen.dev/v1alpha1");
    assert_eq!(doc["kind"], "PairStatus");
    assert_eq!(doc["target"]["context"], "sandbox");
    assert_eq!(doc["target"]["cluster"], "sandbox");
    assert_eq!(doc["target"]["server"], sb.base_url());
    assert_eq!(doc["target"]["namespace"], "default");
    assert!(doc["observedAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    let service = &doc["service"];
    assert_eq!(service["name"], "blueservice");
    assert_eq!(service["namespace"], "default");
    assert_eq!(service["selector"], serde_json::json!({"app": "blue"}));
    assert_eq!(service["colourLabel"], "app");
    assert!(service["resourceVersion"].as_str().is_some());
    assert!(service["managedBy"].is_null());
    assert_eq!(service["journal"], serde_json::json!({}));
    assert_eq!(doc["liveColour"], "blue");
    assert_eq!(doc["idleColour"], "green");

    let colours = doc["colours"].as_array().expect("colours");
    assert_eq!(colours.len(), 2);
    for (colour, role, deployment, image) in [
        (&colours[0], "live", "bluedeploy", "nginx:blue"),
        (&colours[1], "idle", "greendeploy", "nginx:green"),
    ] {
        let d = &colour["deployment"];
        assert_eq!(colour["role"], role);
        assert_eq!(d["name"], deployment);
        assert_eq!(d["images"], serde_json::json!([image]));
        for field in ["desired", "current", "updated", "ready", "available"] {
            assert_eq!(d[field], 3, "{deployment} {field}");
        }
        assert_eq!(d["generation"], 1);
        assert_eq!(d["observedGeneration"], 1);
        assert_eq!(d["paused"], false);
        assert_eq!(d["progressDeadlineExceeded"], false);
        assert_eq!(d["rolloutComplete"], true);
        let pods = colour["pods"].as_array().expect("pods");
        assert_eq!(pods.len(), 3);
        for pod in pods {
            assert!(
                pod["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(deployment))
            );
            assert_eq!(pod["phase"], "Running");
            assert_eq!(pod["status"], "Running");
            assert_eq!(pod["ready"], true);
            assert_eq!(pod["readyContainers"], 1);
            assert_eq!(pod["totalContainers"], 1);
            assert_eq!(pod["restarts"], 0);
            assert!(pod["ageSeconds"].as_i64().is_some_and(|a| a >= 0));
            assert!(pod["created"].as_str().is_some());
            assert!(
                pod["node"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("sandbox-node-"))
            );
            assert!(
                pod["ip"]
                    .as_str()
                    .is_some_and(|ip| ip.starts_with("10.244."))
            );
            assert_eq!(pod["terminating"], false);
            let expected = if role == "live" { "ready" } else { "absent" };
            assert_eq!(pod["inService"], expected);
        }
        assert_eq!(colour["hpas"], serde_json::json!([]));
    }
    assert_eq!(colours[0]["testServices"], serde_json::json!([]));
    assert_eq!(
        colours[1]["testServices"],
        serde_json::json!(["greenservice"])
    );

    let endpoints = doc["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 3);
    let blue_ips: Vec<&Value> = colours[0]["pods"]
        .as_array()
        .map(|p| p.iter().map(|p| &p["ip"]).collect())
        .unwrap_or_default();
    for e in endpoints {
        assert_eq!(e["colour"], "blue");
        assert_eq!(e["ready"], true);
        assert_eq!(e["serving"], true);
        assert_eq!(e["terminating"], false);
        assert!(blue_ips.contains(&&e["ip"]), "{e}");
    }
    assert_eq!(doc["otherServices"], serde_json::json!([]));
    assert_eq!(doc["hpasKnown"], true);

    let verdict = &doc["verdict"];
    assert_eq!(verdict["action"], "promote");
    assert_eq!(verdict["service"], "blueservice");
    assert_eq!(verdict["from"], "blue");
    assert_eq!(verdict["to"], "green");
    assert_eq!(verdict["safe"], true);
    assert_eq!(verdict["blockers"], serde_json::json!([]));
    assert_eq!(
        verdict["summary"],
        "promote would move blueservice from blue to green: safe"
    );
    assert_no_mutation(&sb);
}

#[test]
fn json_verdict_lists_blockers_with_codes() {
    let sb = settled_scenario("green-not-ready");
    let doc = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["verdict"]["safe"], false);
    let codes: Vec<&str> = doc["verdict"]["blockers"]
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["code"].as_str()).collect())
        .unwrap_or_default();
    assert!(codes.contains(&"notReady"), "{codes:?}");
}

#[test]
fn yaml_document_parses_to_the_same_schema() {
    let sb = settled_scenario("classic");
    let run = run_against(&sb, &["status", "blueservice", "-o", "yaml"]);
    run.expect_code(0);
    let doc: Value = serde_yaml::from_str(&run.stdout).expect("valid YAML");
    assert_eq!(doc["apiVersion"], "bluegreen.dev/v1alpha1");
    assert_eq!(doc["kind"], "PairStatus");
    assert_eq!(doc["liveColour"], "blue");
    assert_eq!(doc["colours"][1]["deployment"]["name"], "greendeploy");
    assert_eq!(doc["verdict"]["safe"], true);
}

#[test]
fn verbose_shows_requests_never_credentials() {
    let sb = settled_scenario("classic");
    for flag in ["-v", "-vv"] {
        let run = run_against(&sb, &["status", "blueservice", flag]);
        run.expect_code(0).stderr_has(&[
            "GET /api/v1/namespaces/default/services/blueservice -> 200",
            "GET /apis/apps/v1/namespaces/default/deployments",
        ]);
        let lower = run.stderr.to_ascii_lowercase();
        assert!(
            !lower.contains("authorization") && !lower.contains("bearer"),
            "{}",
            run.stderr
        );
    }
    let quiet = run_against(&sb, &["status", "blueservice"]);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

#[test]
#[allow(clippy::result_large_err)] // the sandbox's store API returns whole Status objects
fn watch_redraws_on_change() {
    let sb = settled_scenario("classic");
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = command(home.path())
        .args(["status", "blueservice", "--watch", "--kubeconfig"])
        .arg(sb.kubeconfig_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str| {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
                && line.contains(needle)
            {
                return true;
            }
        }
        false
    };
    assert!(wait_for("promote would move blueservice"), "first frame");
    sb.store()
        .update_with(
            &sandbox::resources::DEPLOYMENTS,
            "default",
            "greendeploy",
            sandbox::store::UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                new["spec"]["replicas"] = serde_json::json!(2);
                Ok(new)
            },
        )
        .expect("scale greendeploy");
    let redrawn = wait_for("2 desired");
    let _ = child.kill();
    let _ = child.wait();
    assert!(redrawn, "the view was redrawn after the change");
    let polled = sb
        .requests()
        .iter()
        .filter(|r| {
            r.query_param("watch").as_deref() == Some("true") || r.query.contains("watch=1")
        })
        .count();
    assert!(
        polled >= 4,
        "driven by watches on pods, deployments, services and endpointslices"
    );
    assert_no_mutation(&sb);
}

#[test]
fn kubeconfig_list_is_merged_first_file_wins() {
    let sb = settled_scenario("staging");
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The first file only picks the current context; the second defines everything.
    let first = dir.path().join("first");
    std::fs::write(
        &first,
        "apiVersion: v1\nkind: Config\ncurrent-context: sandbox-staging\n",
    )
    .expect("write");
    let missing = dir.path().join("missing");
    let list = std::env::join_paths([missing.as_path(), first.as_path(), sb.kubeconfig_path()])
        .expect("a KUBECONFIG list");
    let run = run_in(
        dir.path(),
        &["status", "blueservice"],
        &[("KUBECONFIG", list.to_str().expect("UTF-8 paths"))],
    );
    run.expect_code(0)
        .stdout_has(&["Context:   sandbox-staging\n", "Namespace: staging\n"]);
    assert_secret_free(&sb, &run);
}

#[test]
fn home_kubeconfig_is_the_default() {
    let sb = settled_scenario("classic");
    let home = tempfile::tempdir().expect("a temporary HOME");
    std::fs::create_dir(home.path().join(".kube")).expect("mkdir");
    std::fs::copy(sb.kubeconfig_path(), home.path().join(".kube/config")).expect("copy");
    run_in(home.path(), &["status", "blueservice"], &[])
        .expect_code(0)
        .stdout_has(&["Context:   sandbox\n", "safe"]);
}

const EDGES: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web, color: blue}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {tier: frontend}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: web-rollout
  annotations: {argo-rollouts.argoproj.io/managed-by-rollouts: web}
spec:
  selector: {app: web, color: green}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-blue}
spec:
  replicas: 2
  selector: {matchLabels: {app: web, color: blue}}
  template:
    metadata: {labels: {app: web, color: blue, tier: frontend}}
    spec:
      containers: [{name: web, image: "web:1"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-green}
spec:
  replicas: 2
  selector: {matchLabels: {app: web, color: green}}
  template:
    metadata: {labels: {app: web, color: green, tier: frontend}}
    spec:
      containers: [{name: web, image: "web:2"}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web-green}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web-green}
  minReplicas: 2
  maxReplicas: 6
"#;

#[test]
fn things_that_bite_are_shown() {
    let sb = start(None);
    sb.load_yaml(EDGES).expect("load the objects");
    wait_settled(&sb);
    sb.clear_requests();

    let run = run_against(&sb, &["status", "web"]);
    run.expect_code(0).stdout_has(&[
        "web-green (2..6)",
        "Service web-headless also selects blue and green pods and will not be changed",
        "HorizontalPodAutoscaler web-green scales web-green (2..6 replicas)",
        "promote would move web from blue to green: safe",
    ]);
    let doc = run_against(&sb, &["status", "web", "-o", "json"]).json();
    assert_eq!(doc["otherServices"][0]["name"], "web-headless");
    assert_eq!(doc["colours"][1]["hpas"][0]["minReplicas"], 2);
    // The Argo-managed Service selects green exactly: it counts as green's test Service.
    assert_eq!(doc["colours"][1]["testServices"][0], "web-rollout");

    let managed = run_against(&sb, &["status", "web-rollout"]);
    managed.expect_code(0).stdout_has(&[
        "(managed by Argo Rollouts)",
        "not safe: web-rollout is managed by Argo Rollouts; this plugin will not change it",
    ]);
    assert_no_mutation(&sb);
}

/// Runs the binary on a pseudo-terminal (through util-linux `script`), returning its output.
fn on_terminal(sb: &Sandbox, extra: &str, env: &[(&str, &str)]) -> Option<String> {
    if !std::path::Path::new("/usr/bin/script").exists() {
        eprintln!("`script` is not installed; skipping the terminal test");
        return None;
    }
    let home = tempfile::tempdir().expect("a temporary HOME");
    let line = format!(
        "{BIN} status blueservice --kubeconfig {} {extra}",
        sb.kubeconfig_path().display()
    );
    let mut script = std::process::Command::new("/usr/bin/script");
    script.args(["-qec", &line, "/dev/null"]);
    script
        .env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .env("HOME", home.path())
        .env("TERM", "xterm-256color");
    for (k, v) in env {
        script.env(k, v);
    }
    let output = script.output().expect("script runs");
    assert!(output.status.success(), "{output:?}");
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn colour_only_on_a_terminal_and_never_when_asked_not_to() {
    let sb = settled_scenario("classic");
    let Some(coloured) = on_terminal(&sb, "", &[]) else {
        return;
    };
    assert!(
        coloured.contains("\u{1b}["),
        "colour on a terminal:\n{coloured}"
    );
    assert!(coloured.contains("BLUE"));
    for (extra, env) in [
        ("--no-color", vec![]),
        ("", vec![("NO_COLOR", "1")]),
        ("", vec![("TERM", "dumb")]),
    ] {
        let plain = on_terminal(&sb, extra, &env).unwrap_or_default();
        assert!(plain.contains("BLUE"), "{plain}");
        assert!(
            !plain.contains("\u{1b}["),
            "no colour with {extra} {env:?}:\n{plain}"
        );
    }
    let json = on_terminal(&sb, "-o json", &[]).unwrap_or_default();
    assert!(!json.contains("\u{1b}["), "JSON is never coloured");
}

#[test]
fn the_documented_role_is_enough() {
    let sb = settled_scenario("classic");
    sb.set_policy(Policy::Rules(vec![
        PolicyRule::new(
            &["get", "list", "watch"],
            &["services", "pods", "deployments"],
        )
        .in_namespaces(&["default"]),
        PolicyRule::new(&["list", "watch"], &["endpointslices"]).in_namespaces(&["default"]),
    ]));
    let run = run_against(&sb, &["status", "blueservice"]);
    run.expect_code(0)
        .stdout_has(&["Autoscaler       unknown", "safe"]);
    let forbidden = sb.requests().iter().filter(|r| r.status == 403).count();
    assert_eq!(forbidden, 1, "only the optional HPA list is refused");
    run_against(&sb, &["status", "nothere"])
        .expect_code(4)
        .stderr_has(&["Service \"nothere\" not found"]);
}

#[test]
#[allow(clippy::result_large_err)] // the sandbox's store API returns whole Status objects
fn a_closed_pipe_is_not_an_error() {
    let sb = settled_scenario("classic");
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = spawn_against(&sb, home.path(), &["status", "blueservice", "--watch"]);
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("a first line");
    assert!(first.starts_with("Context:"), "{first}");
    drop(reader); // like `| head -1`
    sb.store()
        .update_with(
            &sandbox::resources::DEPLOYMENTS,
            "default",
            "greendeploy",
            sandbox::store::UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                new["spec"]["replicas"] = serde_json::json!(1);
                Ok(new)
            },
        )
        .expect("scale greendeploy");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the watch did not end after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
#[allow(clippy::result_large_err)] // the sandbox's store API returns whole Status objects
fn watch_as_json_prints_successive_documents() {
    let sb = settled_scenario("classic");
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = command(home.path())
        .args([
            "status",
            "blueservice",
            "--watch",
            "-o",
            "json",
            "--kubeconfig",
        ])
        .arg(sb.kubeconfig_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        let documents = serde_json::Deserializer::from_reader(stdout).into_iter::<Value>();
        for doc in documents.map_while(Result::ok) {
            if tx.send(doc).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a first document");
    assert_eq!(first["colours"][1]["deployment"]["desired"], 3);
    sb.store()
        .update_with(
            &sandbox::resources::DEPLOYMENTS,
            "default",
            "greendeploy",
            sandbox::store::UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                new["spec"]["replicas"] = serde_json::json!(1);
                Ok(new)
            },
        )
        .expect("scale greendeploy");
    let started = Instant::now();
    let mut scaled = false;
    while !scaled && started.elapsed() < Duration::from_secs(20) {
        if let Ok(doc) = rx.recv_timeout(Duration::from_millis(200)) {
            assert_eq!(doc["kind"], "PairStatus");
            scaled = doc["colours"][1]["deployment"]["desired"] == 1;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(scaled, "a new document followed the change");
}

#[test]
fn the_kubeconfig_may_turn_tls_verification_off_and_nothing_else_does() {
    let sb = settled_scenario("classic");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let without_ca = |text: String| -> String {
        text.lines()
            .filter(|l| !l.contains("certificate-authority-data"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let unverified = edited_kubeconfig(&sb, dir.path(), without_ca);
    let unverified = unverified.display().to_string();
    run(&["status", "blueservice", "--kubeconfig", &unverified])
        .expect_code(8)
        .stderr_has(&["TLS verification of the API server"]);

    let insecure_dir = tempfile::tempdir().expect("a temporary directory");
    let insecure = edited_kubeconfig(&sb, insecure_dir.path(), |text| {
        without_ca(text).replace(
            &format!("server: {}", sb.base_url()),
            &format!(
                "server: {}\n    insecure-skip-tls-verify: true",
                sb.base_url()
            ),
        )
    });
    run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        &insecure.display().to_string(),
    ])
    .expect_code(0)
    .stdout_has(&["safe"]);
}

// `status` against a real API server, through KUBECONFIG as a user runs it:
// tests/integration/both_backends/status.rs (`status_through_the_kubeconfig_variable::real`).
