//! `list` on either back-end (see docs/list-output.md): two pairs in one namespace, a release
//! in progress, custom colours, and the `PairList` document. What only the sandbox shows (the
//! requests `list` sends) is in the `list` module.

use kubectl_bluegreen::schema::{KIND, PairItem, PairList};

use super::pair::*;
use crate::backends::*;
use crate::both_backends;
use crate::common::Run;

/// `list -o json` with `args`, deserialised into the documented schema.
#[track_caller]
fn list_doc(c: &dyn Cluster, args: &[&str]) -> PairList {
    let mut all = vec!["list", "-o", "json"];
    all.extend(args);
    parse_list(&c.bluegreen(&all))
}

/// A successful `list -o json` run, deserialised into the documented schema.
#[track_caller]
pub(crate) fn parse_list(run: &Run) -> PairList {
    run.expect_code(0);
    match serde_json::from_str(&run.stdout) {
        Ok(list) => list,
        Err(e) => panic!("the list does not follow the schema: {e}\n{}", run.stdout),
    }
}

#[track_caller]
pub(crate) fn item<'a>(list: &'a PairList, service: &str) -> &'a PairItem {
    list.items
        .iter()
        .find(|i| i.service == service)
        .unwrap_or_else(|| panic!("no item for {service}: {list:#?}"))
}

/// The table's data lines (after the header), split on runs of 3+ spaces.
pub(crate) fn rows(stdout: &str) -> Vec<Vec<String>> {
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

/// A second pair keyed by `color` (`shop-blue`/`shop-green`), whose production Service `shop`
/// selects green; `shop-blue` is its test Service.
const SHOP: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-blue}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop, color: blue}}
  template:
    metadata: {labels: {app: shop, color: blue}}
    spec: {containers: [{name: web, image: 'shop:blue', ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-green}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop, color: green}}
  template:
    metadata: {labels: {app: shop, color: green}}
    spec: {containers: [{name: web, image: 'shop:green', ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop, color: green}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: shop-blue}
spec:
  selector: {app: shop, color: blue}
  ports: [{port: 80, targetPort: 8080}]
";

fn two_pairs_in_one_namespace_each_once_under_its_production_service(c: &dyn Cluster) {
    Pair {
        extra: &format!("---\n{SHOP}"),
        ..Pair::default()
    }
    .load(c);
    let run = c.bluegreen(&["list"]);
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
                "green",
                "shop:blue",
                "2/2",
                "shop:green",
                "2/2",
                "-",
                "promote safe"
            ],
        ],
        "{}: {}",
        c.backend(),
        run.stdout
    );
    assert!(
        !run.stdout.contains("greenservice") && !run.stdout.contains("shop-blue "),
        "test Services are not pairs of their own:\n{}",
        run.stdout
    );

    let list = list_doc(c, &[]);
    let ns = c.namespace().to_string();
    assert_eq!(
        list.items
            .iter()
            .map(|i| (i.namespace.clone(), i.service.clone()))
            .collect::<Vec<_>>(),
        [
            (ns.clone(), "blueservice".to_string()),
            (ns.clone(), "shop".to_string())
        ]
    );
    let shop = item(&list, "shop");
    assert_eq!(shop.colour_label, "color");
    assert_eq!(shop.live, "green", "{shop:#?}");
    assert_eq!(shop.colours[0].deployment.as_deref(), Some("shop-blue"));
    assert_eq!(shop.colours[1].deployment.as_deref(), Some("shop-green"));
    assert_eq!(shop.colours[1].images, ["shop:green"]);
    assert_eq!((shop.colours[1].ready, shop.colours[1].desired), (2, 2));
    let verdict = shop.verdict.as_ref().expect("a verdict");
    assert!(verdict.safe, "{verdict:#?}");
    assert_eq!(
        verdict.next_command.as_deref(),
        Some("kubectl bluegreen promote shop")
    );
    let pair = item(&list, "blueservice");
    assert_eq!(pair.live, "blue");
    assert_eq!(pair.colour_label, "app");
}

fn a_release_in_progress_is_shown_from_the_journal(c: &dyn Cluster) {
    classic(c);
    let interrupted = promote_interrupted_during_cleanup(c);
    assert!(!interrupted.status.success(), "promote was interrupted");

    let run = c.bluegreen(&["list"]);
    run.expect_code(0);
    let row = &rows(&run.stdout)[0];
    assert_eq!(row[0], "blueservice", "{}", run.stdout);
    assert_eq!(row[1], "green", "{}", run.stdout);
    assert_eq!(row[6], "cleanup of blue pending", "{}", run.stdout);
    assert!(row[7].starts_with("cleanup "), "{}", run.stdout);

    let list = list_doc(c, &[]);
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
    c.kubectl_ok(&[
        "annotate",
        "service",
        "blueservice",
        "bluegreen.dev/step=verify",
        "--overwrite",
    ]);
    let list = list_doc(c, &[]);
    let progress = list.items[0].in_progress.as_ref().expect("in progress");
    assert_eq!(progress.step, "verify");
    assert_eq!(progress.summary, "verification of promote to green pending");
    c.bluegreen(&["list"])
        .expect_code(0)
        .stdout_has(&["verification of promote to green pending"]);
}

/// A pair keyed by `track` (`v1`/`v2`), two containers each; `api` selects v2.
pub(crate) const CUSTOM: &str = "\
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

fn custom_colours_and_label(c: &dyn Cluster) {
    c.load_yaml(CUSTOM);
    c.wait_settled();

    // With the default colours there is no pair here.
    let run = c.bluegreen(&["list"]);
    run.expect_code(0).stderr_has(&[&format!(
        "no blue/green pairs found in namespace {}",
        c.namespace()
    )]);
    assert_eq!(run.stdout, "");

    for args in [
        &["--colors", "v1,v2"][..],
        &["--label", "track", "--colors", "v1,v2"][..],
    ] {
        let mut all = vec!["list"];
        all.extend(args);
        let run = c.bluegreen(&all);
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
            "{}: {args:?}\n{}",
            c.backend(),
            run.stdout
        );
        assert!(
            run.stdout.starts_with("SERVICE   LIVE   V1 "),
            "{}",
            run.stdout
        );
        let mut all = vec!["list", "-o", "json"];
        all.extend(args);
        let list: PairList =
            serde_json::from_str(&c.bluegreen(&all).expect_code(0).stdout).expect("the schema");
        let api = item(&list, "api");
        assert_eq!(api.colour_label, "track");
        assert_eq!(api.live, "v2");
        assert_eq!(api.colours[0].colour, "v1");
        assert_eq!(api.colours[0].deployment.as_deref(), Some("api-v1"));
    }
}

fn the_document_names_its_schema_and_round_trips(c: &dyn Cluster) {
    classic(c);
    let run = c.bluegreen(&["list", "-o", "json"]);
    run.expect_code(0);
    let value = run.json();
    assert_eq!(value["apiVersion"], "bluegreen.dev/v1alpha1");
    assert_eq!(value["kind"], KIND);
    let kubeconfig: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(c.kubeconfig_path()).expect("the kubeconfig"),
    )
    .expect("kubeconfig YAML");
    let context = kubeconfig["current-context"].as_str().expect("a context");
    assert!(!context.is_empty());
    assert_eq!(value["target"]["context"], context, "{value:#}");
    assert_eq!(value["target"]["namespace"], c.namespace(), "{value:#}");
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
    assert_eq!(first["namespace"], c.namespace());
    assert_eq!(first["service"], "blueservice");
    assert_eq!(first["colourLabel"], "app");
    assert_eq!(first["live"], "blue");
    assert_eq!(first["inProgress"], serde_json::Value::Null);
    assert_eq!(first["problem"], serde_json::Value::Null);
    assert_eq!(first["verdict"]["action"], "promote");
    assert_eq!(first["verdict"]["short"], "promote safe");
    assert_eq!(first["colours"][0]["colour"], "blue");
    assert_eq!(first["colours"][0]["deployment"], "bluedeploy");
    assert_eq!(first["colours"][1]["images"][0], "nginx:green");

    let list: PairList = serde_json::from_value(value.clone()).expect("the schema");
    assert_eq!(
        serde_json::to_value(&list).expect("encodes"),
        value,
        "nothing lost or added by the round trip"
    );
    let yaml = c.bluegreen(&["list", "-o", "yaml"]);
    yaml.expect_code(0);
    let from_yaml: PairList = serde_yaml::from_str(&yaml.stdout).expect("the YAML schema");
    assert_eq!(from_yaml, list);
}

both_backends!(
    two_pairs_in_one_namespace_each_once_under_its_production_service,
    a_release_in_progress_is_shown_from_the_journal,
    custom_colours_and_label,
    the_document_names_its_schema_and_round_trips,
);
