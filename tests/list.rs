//! `list` through the built binary against the sandbox: which Services are pairs, what each
//! line says, custom colours, a release in progress, many unrelated Services, every namespace,
//! an empty namespace, and the `PairList` document.

mod common;
mod release_support;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use common::*;
use kubectl_bluegreen::render::list::{KIND, PairItem, PairList};
use release_support::*;

/// `list -o json` with `args`, deserialised into the documented schema.
#[track_caller]
fn list_json(sb: &Sandbox, args: &[&str]) -> PairList {
    let mut all = vec!["list", "-o", "json"];
    all.extend(args);
    let run = run_against(sb, &all);
    run.expect_code(0);
    match serde_json::from_str(&run.stdout) {
        Ok(list) => list,
        Err(e) => panic!("the list does not follow the schema: {e}\n{}", run.stdout),
    }
}

/// (namespace, service) of every item.
fn pairs(list: &PairList) -> Vec<(String, String)> {
    list.items
        .iter()
        .map(|i| (i.namespace.clone(), i.service.clone()))
        .collect()
}

#[track_caller]
fn item<'a>(list: &'a PairList, service: &str) -> &'a PairItem {
    list.items
        .iter()
        .find(|i| i.service == service)
        .unwrap_or_else(|| panic!("no item for {service}: {list:#?}"))
}

/// The table's data lines (after the header), split on runs of 3+ spaces.
fn rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .skip(1)
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// The distinct paths of the requests the sandbox received (query left out).
fn request_paths(sb: &Sandbox) -> BTreeSet<String> {
    sb.requests().iter().map(|r| r.path.clone()).collect()
}

/// The label selectors of the pod lists the sandbox received.
fn pod_selectors(sb: &Sandbox) -> BTreeSet<String> {
    selectors_of(sb, "/pods")
}

/// The label selectors of the lists of paths ending with `suffix` the sandbox received.
fn selectors_of(sb: &Sandbox, suffix: &str) -> BTreeSet<String> {
    sb.requests()
        .iter()
        .filter(|r| r.path.ends_with(suffix))
        .filter_map(|r| r.query_param("labelSelector"))
        .collect()
}

fn strings(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn two_pairs_in_one_namespace_each_once_under_its_production_service() {
    let sb = start(Some("classic"));
    sb.load_scenario("multi-key").expect("the multi-key pair");
    wait_settled(&sb);
    sb.clear_requests();

    let run = run_against(&sb, &["list"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout
            .lines()
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec![
            "SERVICE", "LIVE", "BLUE", "READY", "GREEN", "READY", "IN", "PROGRESS", "VERDICT"
        ]),
        "{}",
        run.stdout
    );
    assert_eq!(
        rows(&run.stdout),
        [
            [
                "blueservice",
                "blue",
                "nginx:blue",
                "3/3",
                "nginx:green",
                "3/3",
                "-",
                "promote safe"
            ],
            [
                "shop",
                "blue",
                "shop:blue",
                "3/3",
                "shop:green",
                "3/3",
                "-",
                "promote safe"
            ],
        ],
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("greenservice") && !run.stdout.contains("shop-green"),
        "test Services are not pairs of their own:\n{}",
        run.stdout
    );

    // One list of each kind, at once, and nothing per pair: the pods by colour key (`app` for
    // blueservice, `color` for shop) and colour, selected by the server.
    assert_no_mutation(&sb);
    let requests = sb.requests();
    assert!(requests.iter().all(|r| r.method == "GET"), "{requests:#?}");
    assert_eq!(
        request_paths(&sb),
        strings(&[
            "/api/v1/namespaces/default/pods",
            "/api/v1/namespaces/default/services",
            "/apis/apps/v1/namespaces/default/deployments",
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        ])
    );
    assert_eq!(
        pod_selectors(&sb),
        strings(&["app=blue", "app=green", "color=blue", "color=green"])
    );
    // The EndpointSlices of the production Services only, in one list.
    assert_eq!(
        selectors_of(&sb, "/endpointslices"),
        strings(&["kubernetes.io/service-name in (blueservice,shop)"])
    );
    assert_eq!(requests.len(), 8, "{requests:#?}");

    let list = list_json(&sb, &[]);
    assert_eq!(
        pairs(&list),
        [
            ("default".to_string(), "blueservice".to_string()),
            ("default".to_string(), "shop".to_string())
        ]
    );
    let shop = item(&list, "shop");
    assert_eq!(shop.colour_label, "color");
    assert_eq!(shop.colours[1].deployment.as_deref(), Some("shop-green"));
    assert_eq!(shop.colours[1].images, ["shop:green"]);
    assert_eq!((shop.colours[1].ready, shop.colours[1].desired), (3, 3));
    let verdict = shop.verdict.as_ref().expect("a verdict");
    assert!(verdict.safe);
    assert_eq!(
        verdict.next_command.as_deref(),
        Some("kubectl bluegreen promote shop")
    );
}

#[test]
fn the_verdict_is_the_status_verdict_in_short() {
    let sb = settled_scenario("green-not-ready");
    let list = list_json(&sb, &[]);
    let pair = item(&list, "blueservice");
    let verdict = pair.verdict.as_ref().expect("a verdict");
    assert!(!verdict.safe);
    assert!(
        verdict.short.starts_with("promote not safe: "),
        "{}",
        verdict.short
    );
    assert_eq!(pair.colours[1].ready, 0);
    assert_eq!(pair.colours[1].desired, 3);

    // The same words as `status`'s verdict, and the table shows the short form.
    let status = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(status["verdict"]["summary"], verdict.summary.as_str());
    assert_eq!(
        status["verdict"]["blockers"][0]["message"],
        verdict.blockers[0].message.as_str()
    );
    run_against(&sb, &["list"])
        .expect_code(0)
        .stdout_has(&[&verdict.short, "0/3"]);
}

const CUSTOM: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api-v1}
spec:
  replicas: 2
  selector: {matchLabels: {app: api, track: v1}}
  template:
    metadata: {labels: {app: api, track: v1}}
    spec: {containers: [{name: web, image: 'api:1.0'}, {name: proxy, image: 'envoy:1'}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api-v2}
spec:
  replicas: 2
  selector: {matchLabels: {app: api, track: v2}}
  template:
    metadata: {labels: {app: api, track: v2}}
    spec: {containers: [{name: web, image: 'api:2.0'}, {name: proxy, image: 'envoy:1'}]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: api, track: v2}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: api-v1}
spec:
  selector: {app: api, track: v1}
  ports: [{port: 80}]
";

#[test]
fn custom_colours_and_label() {
    let sb = start(None);
    sb.load_yaml(CUSTOM).expect("the v1/v2 pair");
    wait_settled(&sb);

    // With the default colours there is no pair here.
    run_against(&sb, &["list"])
        .expect_code(0)
        .stderr_has(&["no blue/green pairs found in namespace default"]);

    for args in [
        &["--colors", "v1,v2"][..],
        &["--label", "track", "--colors", "v1,v2"][..],
    ] {
        sb.clear_requests();
        let mut all = vec!["list"];
        all.extend(args);
        let run = run_against(&sb, &all);
        run.expect_code(0);
        assert_eq!(
            rows(&run.stdout),
            [[
                "api",
                "v2",
                "api:1.0,envoy:1",
                "2/2",
                "api:2.0,envoy:1",
                "2/2",
                "-",
                "promote safe"
            ]
            .map(str::to_string)],
            "{args:?}\n{}",
            run.stdout
        );
        assert!(
            run.stdout.starts_with("SERVICE   LIVE   V1 "),
            "{}",
            run.stdout
        );
        // The server selects the pods by the colour key, named or found in the Services.
        assert_eq!(pod_selectors(&sb), strings(&["track=v1", "track=v2"]));
    }
}

#[test]
#[allow(clippy::result_large_err)] // the sandbox's store API returns whole Status objects
fn a_release_in_progress_is_shown_from_the_journal() {
    let sb = settled_scenario("classic");
    let interrupted = promote_interrupted_during_cleanup(&sb);
    assert!(!interrupted.status.success(), "promote was interrupted");

    let run = run_against(&sb, &["list"]);
    run.expect_code(0);
    let row = &rows(&run.stdout)[0];
    assert_eq!(row[0], "blueservice", "{}", run.stdout);
    assert_eq!(row[1], "green", "{}", run.stdout);
    assert_eq!(row[6], "cleanup of blue pending", "{}", run.stdout);
    assert!(row[7].starts_with("cleanup "), "{}", run.stdout);

    let list = list_json(&sb, &[]);
    assert_eq!(
        list.items.len(),
        1,
        "greenservice is the pair's test Service"
    );
    let pair = &list.items[0];
    let progress = pair.in_progress.as_ref().expect("a release in progress");
    assert_eq!(progress.step, "cleanup");
    assert_eq!(progress.summary, "cleanup of blue pending");
    let verdict = pair.verdict.as_ref().expect("a verdict");
    if verdict.safe {
        assert_eq!(
            verdict.next_command.as_deref(),
            Some("kubectl bluegreen cleanup blueservice")
        );
    }

    // A flip waiting for verification, written by hand.
    sb.store()
        .update_with(
            &sandbox::resources::SERVICES,
            "default",
            "blueservice",
            sandbox::store::UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                new["metadata"]["annotations"]["bluegreen.dev/step"] = "verify".into();
                Ok(new)
            },
        )
        .expect("annotate blueservice");
    let list = list_json(&sb, &[]);
    let progress = list.items[0].in_progress.as_ref().expect("in progress");
    assert_eq!(progress.step, "verify");
    assert_eq!(progress.summary, "verification of promote to green pending");
    assert_eq!(
        journal(&sb, "blueservice", "step").as_deref(),
        Some("verify")
    );
}

#[test]
fn hundreds_of_unrelated_services_are_skipped() {
    let sb = start(Some("classic"));
    let mut yaml = String::new();
    for i in 0..600 {
        let _ = write!(
            yaml,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i:03}}}\n\
             spec: {{selector: {{app: app-{i:03}, tier: web}}, ports: [{{port: 80}}]}}\n"
        );
    }
    yaml.push_str(
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: external}\n\
         spec: {type: ExternalName, externalName: db.example.com, selector: {app: blue}}\n\
         ---\napiVersion: v1\nkind: Service\nmetadata: {name: manual}\nspec: {ports: [{port: 80}]}\n",
    );
    sb.load_yaml(&yaml).expect("the unrelated Services");
    wait_settled(&sb);
    sb.clear_requests();

    let list = list_json(&sb, &[]);
    assert_eq!(
        pairs(&list),
        [("default".to_string(), "blueservice".to_string())]
    );
    // 603 Services (and as many EndpointSlices): two pages of Services, still one list of
    // each; of the EndpointSlices, only the production Service's are read (one page).
    let pages = |path: &str| sb.requests().iter().filter(|r| r.path == path).count();
    assert_eq!(pages("/api/v1/namespaces/default/services"), 2);
    assert_eq!(
        pages("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"),
        1
    );
    assert_eq!(
        selectors_of(&sb, "/endpointslices"),
        strings(&["kubernetes.io/service-name in (blueservice)"])
    );
    assert_eq!(sb.requests().len(), 7, "{:#?}", sb.requests());
}

#[test]
fn every_namespace_with_all_namespaces() {
    let sb = start(Some("classic"));
    sb.load_scenario("staging").expect("the staging pair");
    wait_settled(&sb);
    sb.clear_requests();

    let run = run_against(&sb, &["list", "-A"]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("NAMESPACE   SERVICE"),
        "{}",
        run.stdout
    );
    let table: Vec<(String, String)> = rows(&run.stdout)
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        table,
        [
            ("default".to_string(), "blueservice".to_string()),
            ("staging".to_string(), "blueservice".to_string())
        ]
    );
    assert_eq!(
        request_paths(&sb),
        strings(&[
            "/api/v1/pods",
            "/api/v1/services",
            "/apis/apps/v1/deployments",
            "/apis/autoscaling/v2/horizontalpodautoscalers",
            "/apis/discovery.k8s.io/v1/endpointslices",
        ])
    );

    let list = list_json(&sb, &["--all-namespaces", "-n", "staging"]);
    assert_eq!(list.target.namespace, None, "-A wins over -n");
    assert_eq!(list.items.len(), 2);
    // Each pair's objects come from its own namespace.
    for pair in &list.items {
        assert_eq!(pair.colours[0].ready, 3, "{pair:#?}");
        assert_eq!(pair.colours[1].ready, 3, "{pair:#?}");
    }

    let staging = list_json(&sb, &["-n", "staging"]);
    assert_eq!(staging.target.namespace.as_deref(), Some("staging"));
    assert_eq!(
        pairs(&staging),
        [("staging".to_string(), "blueservice".to_string())]
    );
}

#[test]
fn an_empty_namespace_says_so_and_succeeds() {
    let sb = start(None);
    let run = run_against(&sb, &["list"]);
    run.expect_code(0)
        .stderr_has(&["no blue/green pairs found in namespace default"]);
    assert_eq!(run.stdout, "");
    run_against(&sb, &["list", "-A"])
        .expect_code(0)
        .stderr_has(&["no blue/green pairs found in any namespace"]);

    // Scripts get an empty list, not a message.
    let list = list_json(&sb, &[]);
    assert!(list.items.is_empty());
    let run = run_against(&sb, &["list", "-o", "yaml"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert!(run.stdout.contains("items: []"), "{}", run.stdout);

    // A namespace that does not exist is an error, as for every command.
    run_against(&sb, &["list", "-n", "nowhere"])
        .expect_code(4)
        .stderr_has(&["namespace \"nowhere\" does not exist"]);
}

const TWO_GREENS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: greendeploy-copy}
spec:
  replicas: 1
  selector: {matchLabels: {app: green, copy: 'yes'}}
  template:
    metadata: {labels: {app: green, copy: 'yes'}}
    spec: {containers: [{name: web, image: 'nginx:green'}]}
";

#[test]
fn a_pair_that_cannot_be_read_is_listed_with_its_problem() {
    let sb = start(Some("classic"));
    sb.load_yaml(TWO_GREENS).expect("a second green Deployment");
    wait_settled(&sb);
    let list = list_json(&sb, &[]);
    let pair = item(&list, "blueservice");
    assert!(pair.verdict.is_none());
    let problem = pair.problem.as_deref().expect("a problem");
    assert!(problem.contains("greendeploy-copy"), "{problem}");
    run_against(&sb, &["list"])
        .expect_code(0)
        .stdout_has(&["blueservice", "cannot read the pair: "]);
}

#[test]
fn the_document_names_its_schema_and_round_trips() {
    let sb = settled_scenario("classic");
    let run = run_against(&sb, &["list", "-o", "json"]);
    run.expect_code(0);
    let value = run.json();
    assert_eq!(value["apiVersion"], "bluegreen.dev/v1alpha1");
    assert_eq!(value["kind"], KIND);
    assert_eq!(value["target"]["context"], "sandbox");
    let first = &value["items"][0];
    for field in [
        "namespace",
        "service",
        "colourLabel",
        "live",
        "colours",
        "inProgress",
        "verdict",
        "problem",
    ] {
        assert!(first.get(field).is_some(), "items lack {field}: {value:#}");
    }
    assert_eq!(first["verdict"]["action"], "promote");
    assert_eq!(first["verdict"]["short"], "promote safe");
    assert_eq!(first["colours"][0]["colour"], "blue");

    let list: PairList = serde_json::from_value(value.clone()).expect("the schema");
    assert_eq!(
        serde_json::to_value(&list).expect("encodes"),
        value,
        "nothing lost or added by the round trip"
    );
    let yaml = run_against(&sb, &["list", "-o", "yaml"]);
    yaml.expect_code(0);
    let from_yaml: PairList = serde_yaml::from_str(&yaml.stdout).expect("the YAML schema");
    assert_eq!(from_yaml, list);
}

#[test]
fn list_and_its_flags_are_completed() {
    use kubectl_bluegreen::complete::respond;
    let values = |words: &[&str]| -> Vec<String> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        respond(&words)
            .candidates
            .into_iter()
            .map(|c| c.value)
            .collect()
    };
    assert_eq!(values(&["li"]), ["list"]);
    assert_eq!(values(&["list", "--all"]), ["--all-namespaces"]);
    assert_eq!(values(&["list", "-o", ""]), ["table", "json", "yaml"]);
    let script = kubectl_bluegreen::cmd::completion::script(clap_complete::Shell::Bash);
    assert!(
        script.contains("--all-namespaces"),
        "the static script knows list"
    );
}
