//! `list` on the sandbox: the requests it sends (one list of each kind, pods selected by the
//! server), the verdict in short, many unrelated Services, every namespace, an empty namespace,
//! a pair that cannot be read, and completion. What each line and the `PairList` document say
//! for two pairs, custom colours and a release in progress, on either back-end, is
//! `both_backends::list`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::common::*;
use kubectl_bluegreen::schema::PairList;

use crate::both_backends::list::{CUSTOM, item, parse_list, rows};

/// `list -o json` with `args`, deserialised into the documented schema.
#[track_caller]
fn list_json(sb: &Sandbox, args: &[&str]) -> PairList {
    let mut all = vec!["list", "-o", "json"];
    all.extend(args);
    parse_list(&run_against(sb, &all))
}

/// (namespace, service) of every item.
fn pairs(list: &PairList) -> Vec<(String, String)> {
    list.items
        .iter()
        .map(|i| (i.namespace.clone(), i.service.clone()))
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

/// Two pairs with different colour keys: one list of each kind, at once, and nothing per pair;
/// the pods by colour key (`app` for blueservice, `color` for shop) and colour, selected by the
/// server.
#[test]
fn two_pairs_are_read_with_one_list_of_each_kind() {
    let sb = start(Some("classic"));
    sb.load_scenario("multi-key").expect("the multi-key pair");
    wait_settled(&sb);
    sb.clear_requests();

    let run = run_against(&sb, &["list"]);
    run.expect_code(0);
    let services: Vec<String> = rows(&run.stdout).iter().map(|r| r[0].clone()).collect();
    assert_eq!(services, ["blueservice", "shop"], "{}", run.stdout);

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

/// The server selects the pods by the colour key, named (`--label`) or found in the Services.
#[test]
fn custom_colours_are_selected_by_their_key_on_the_server() {
    let sb = start(None);
    sb.load_yaml(CUSTOM).expect("the v1/v2 pair");
    wait_settled(&sb);
    for args in [
        &["--colors", "v1,v2"][..],
        &["--label", "track", "--colors", "v1,v2"][..],
    ] {
        sb.clear_requests();
        let mut all = vec!["list"];
        all.extend(args);
        run_against(&sb, &all)
            .expect_code(0)
            .stdout_has(&["api", "v2"]);
        assert_eq!(
            pod_selectors(&sb),
            strings(&["track=v1", "track=v2"]),
            "{args:?}"
        );
    }
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
fn list_and_its_flags_are_completed() {
    use kubectl_bluegreen::cli::complete::respond;
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
    let script = kubectl_bluegreen::cli::completion::script(clap_complete::Shell::Bash);
    assert!(
        script.contains("--all-namespaces"),
        "the static script knows list"
    );
}
