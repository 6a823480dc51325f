//! The bad-input catalogue: one row per way the input can be wrong (or merely unusual), each
//! run through the built binary — `status`, and `promote --yes` where the row is about the pair.
//! Every row asserts a clear message, the documented exit code, no panic, and that the sandbox
//! received no request that changes anything. The README's "When the input is wrong" table is
//! this catalogue; a test keeps the two in sync.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Where a row's command line points.
#[derive(Clone, Copy)]
enum Fixture {
    /// No cluster: the command line alone is wrong.
    Nothing,
    /// A sandbox with these objects (a scenario, then YAML), settled.
    Objects(Option<&'static str>, &'static str),
    /// The classic pair, through a kubeconfig edited by the function.
    Kubeconfig(fn(&Sandbox, &Path, &mut serde_yaml::Value)),
    /// A kubeconfig file with exactly this text, and no cluster.
    KubeconfigText(&'static str),
}

/// One run of the binary and what it must answer.
struct Expect {
    /// Arguments; `--kubeconfig` is added by the fixture.
    args: &'static [&'static str],
    code: i32,
    /// Fragments of the message: stderr when the code is not 0, else stdout.
    says: &'static [&'static str],
}

/// One catalogue row.
struct Row {
    /// The case, as the README's table names it.
    case: &'static str,
    /// What the plugin says, in short, as the README's table puts it.
    readme: &'static str,
    fixture: Fixture,
    runs: &'static [Expect],
}

const fn exits(args: &'static [&'static str], code: i32, says: &'static [&'static str]) -> Expect {
    Expect { args, code, says }
}

const PAIRLESS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: manual}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: database}
spec:
  type: ExternalName
  externalName: db.example.com
  selector: {app: blue}
"#;

/// A third Deployment whose pods carry green's labels.
const THIRD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: greendeploy-v2}
spec:
  replicas: 1
  selector: {matchLabels: {app: green, copy: v2}}
  template:
    metadata: {labels: {app: green, copy: v2}}
    spec:
      containers: [{name: web, image: "nginx:green-v2"}]
"#;

/// Blue and green with the same pod template apart from the colour label.
const IDENTICAL: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-blue}
spec:
  replicas: 2
  selector: {matchLabels: {app: blue}}
  template:
    metadata: {labels: {app: blue, tier: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", ports: [{containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-green}
spec:
  replicas: 2
  selector: {matchLabels: {app: green}}
  template:
    metadata: {labels: {app: green, tier: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", ports: [{containerPort: 8080}]}]
"#;

/// A pair whose Service has a cleanup pending in its journal.
const IN_PROGRESS: &str = r#"
apiVersion: v1
kind: Service
metadata:
  name: blueservice
  annotations:
    bluegreen.dev/step: cleanup
    bluegreen.dev/previous-colour: green
    bluegreen.dev/action: promote
    bluegreen.dev/cleanup-policy: scale-down
spec:
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bluedeploy}
spec:
  replicas: 1
  selector: {matchLabels: {app: blue}}
  template:
    metadata: {labels: {app: blue}}
    spec:
      containers: [{name: web, image: "nginx:blue"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: greendeploy}
spec:
  replicas: 1
  selector: {matchLabels: {app: green}}
  template:
    metadata: {labels: {app: green}}
    spec:
      containers: [{name: web, image: "nginx:green"}]
"#;

/// A Service selecting blue, which has no Deployment; green has one.
const LIVE_WITHOUT_DEPLOYMENT: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: blueservice}
spec:
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: greendeploy}
spec:
  replicas: 1
  selector: {matchLabels: {app: green}}
  template:
    metadata: {labels: {app: green}}
    spec:
      containers: [{name: web, image: "nginx:green"}]
"#;

/// A pair whose green is scaled to zero.
const GREEN_AT_ZERO: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: blueservice}
spec:
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bluedeploy}
spec:
  replicas: 2
  selector: {matchLabels: {app: blue}}
  template:
    metadata: {labels: {app: blue}}
    spec:
      containers: [{name: web, image: "nginx:blue"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: greendeploy}
spec:
  replicas: 0
  selector: {matchLabels: {app: green}}
  template:
    metadata: {labels: {app: green}}
    spec:
      containers: [{name: web, image: "nginx:green"}]
"#;

/// A headless production Service for a pair of its own (beside the classic pair's blueservice,
/// cleaning up blue would leave blueservice empty, which promote refuses).
const HEADLESS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bluedeploy}
spec:
  replicas: 3
  selector: {matchLabels: {app: blue}}
  template:
    metadata: {labels: {app: blue}}
    spec:
      containers: [{name: web, image: "nginx:blue", ports: [{containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: greendeploy}
spec:
  replicas: 3
  selector: {matchLabels: {app: green}}
  template:
    metadata: {labels: {app: green}}
    spec:
      containers: [{name: web, image: "nginx:green", ports: [{containerPort: 8080}]}]
"#;

/// Names at their limits: a 63-character Service name (DNS-1035 label), 240-character
/// Deployment names with dots (DNS subdomains; the ReplicaSet adds `-` and the template hash,
/// which must still fit in 253), a prefixed label key, 63-character colour values with dots,
/// dashes and underscores.
const UNUSUAL: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: s23456789-123456789-123456789-123456789-123456789-123456789-123}
spec:
  selector:
    app.kubernetes.io/name: web
    bluegreen.example.com/track: v1.2.3-rc_1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web.blue-1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.ddddddddddddddddddddddddddddddddddddd}
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: web
      bluegreen.example.com/track: v1.2.3-rc_1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
        bluegreen.example.com/track: v1.2.3-rc_1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web.green-2.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.dddddddddddddddddddddddddddddddddddd}
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: web
      bluegreen.example.com/track: v1.2.4-rc_2.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz9
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
        bluegreen.example.com/track: v1.2.4-rc_2.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz9
    spec:
      containers: [{name: web, image: "nginx:1.28"}]
"#;

const UNUSUAL_SERVICE: &str = "s23456789-123456789-123456789-123456789-123456789-123456789-123";
const UNUSUAL_COLOURS: &str = "v1.2.3-rc_1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,v1.2.4-rc_2.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz9";

const MALFORMED: &str =
    "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: TOPSECRET-abc\n  [oops\n";

/// The catalogue. The README's table lists the same rows, in this order.
const CATALOGUE: &[Row] = &[
    Row {
        case: "malformed kubeconfig YAML",
        readme: "names the file and the line, never its content",
        fixture: Fixture::KubeconfigText(MALFORMED),
        runs: &[exits(
            &["status", "blueservice"],
            3,
            &["not valid kubeconfig YAML", "line"],
        )],
    },
    Row {
        case: "kubeconfig path missing",
        readme: "kubeconfig PATH does not exist; check --kubeconfig or KUBECONFIG",
        fixture: Fixture::Nothing,
        runs: &[exits(
            &[
                "status",
                "blueservice",
                "--kubeconfig",
                "/nonexistent/kubeconfig",
            ],
            3,
            &["kubeconfig /nonexistent/kubeconfig does not exist"],
        )],
    },
    Row {
        case: "unknown context",
        readme: "context is not defined; lists the available contexts",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[exits(
            &["status", "blueservice", "--context", "prod"],
            3,
            &[
                "context \"prod\" is not defined",
                "available contexts: sandbox, sandbox-staging",
            ],
        )],
    },
    Row {
        case: "context naming a missing cluster",
        readme: "the context names cluster X, which is not defined there",
        fixture: Fixture::Kubeconfig(|_, _, config| {
            config["contexts"][0]["context"]["cluster"] = "gone".into();
        }),
        runs: &[exits(
            &["status", "blueservice"],
            3,
            &[
                "context \"sandbox\"",
                "names cluster \"gone\", which is not defined",
            ],
        )],
    },
    Row {
        case: "context naming a missing user",
        readme: "the context names user X, which is not defined there",
        fixture: Fixture::Kubeconfig(|_, _, config| {
            config["contexts"][0]["context"]["user"] = "ghost".into();
        }),
        runs: &[exits(
            &["status", "blueservice"],
            3,
            &[
                "context \"sandbox\"",
                "names user \"ghost\", which is not defined",
            ],
        )],
    },
    Row {
        case: "invalid or expired token (401)",
        readme: "the API server rejected the credentials of the context (401); log in again",
        fixture: Fixture::Kubeconfig(|_, _, config| {
            config["users"][0]["user"]["token"] = "expired-token-0000".into();
        }),
        runs: &[
            exits(
                &["status", "blueservice"],
                9,
                &["rejected the credentials", "401", "context \"sandbox\""],
            ),
            exits(
                &["promote", "blueservice", "--yes"],
                9,
                &["rejected the credentials", "401"],
            ),
        ],
    },
    Row {
        case: "untrusted CA",
        readme: "TLS verification of the API server failed; check certificate-authority",
        fixture: Fixture::Kubeconfig(|_, dir, config| {
            let ca = foreign_ca(dir);
            let cluster = &mut config["clusters"][0]["cluster"];
            if let Some(map) = cluster.as_mapping_mut() {
                map.remove("certificate-authority-data");
            }
            cluster["certificate-authority"] = ca.display().to_string().into();
        }),
        runs: &[
            exits(
                &["status", "blueservice"],
                8,
                &[
                    "TLS verification of the API server",
                    "certificate-authority",
                ],
            ),
            exits(
                &["promote", "blueservice", "--yes"],
                8,
                &["TLS verification of the API server"],
            ),
        ],
    },
    Row {
        case: "server unreachable",
        readme: "cannot reach the API server URL (context X)",
        fixture: Fixture::Kubeconfig(|_, _, config| {
            let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
            let port = closed.local_addr().expect("an address").port();
            drop(closed);
            config["clusters"][0]["cluster"]["server"] = format!("https://127.0.0.1:{port}").into();
        }),
        runs: &[exits(
            &["status", "blueservice"],
            8,
            &[
                "cannot reach the API server https://127.0.0.1:",
                "context \"sandbox\"",
            ],
        )],
    },
    Row {
        case: "namespace missing",
        readme: "namespace X does not exist in context Y; check -n/--namespace",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[
            exits(
                &["status", "blueservice", "-n", "nowhere"],
                4,
                &["namespace \"nowhere\" does not exist in context \"sandbox\""],
            ),
            exits(
                &["promote", "blueservice", "-n", "nowhere", "--yes"],
                4,
                &["namespace \"nowhere\" does not exist"],
            ),
        ],
    },
    Row {
        case: "Service missing",
        readme: "Service X not found in namespace Y; did you mean Z?",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[
            exits(
                &["status", "bluesvc"],
                4,
                &[
                    "Service \"bluesvc\" not found in namespace \"default\"",
                    "did you mean \"blueservice\"?",
                ],
            ),
            exits(
                &["promote", "bluesvc", "--yes"],
                4,
                &["Service \"bluesvc\" not found"],
            ),
        ],
    },
    Row {
        case: "Service without selector",
        readme: "the Service has no selector, so it cannot pick a colour",
        fixture: Fixture::Objects(None, PAIRLESS),
        runs: &[
            exits(
                &["status", "manual"],
                4,
                &["Service \"manual\"", "has no selector"],
            ),
            exits(&["promote", "manual", "--yes"], 4, &["has no selector"]),
        ],
    },
    Row {
        case: "selector without a colour",
        readme: "the Service selects app=web, which names neither colour; use --label and --colors",
        fixture: Fixture::Objects(None, PAIRLESS),
        runs: &[
            exits(
                &["status", "web"],
                4,
                &["selects app=web", "neither colour", "--label", "--colors"],
            ),
            exits(&["promote", "web", "--yes"], 4, &["neither colour"]),
        ],
    },
    Row {
        case: "both colours' Deployments identical (same template)",
        readme: "`status` shows the pair and says promote is not safe; `promote` refuses: nothing new to promote (`--force` moves traffic anyway)",
        fixture: Fixture::Objects(None, IDENTICAL),
        runs: &[
            exits(
                &["status", "web"],
                0,
                &["web-blue", "web-green", "nothing new to promote"],
            ),
            exits(
                &["promote", "web", "--yes"],
                5,
                &[
                    "nothing new to promote",
                    "web-green (green) runs the same pod template as web-blue (blue)",
                    "--force",
                ],
            ),
        ],
    },
    Row {
        case: "three matching Deployments",
        readme: "colour X has 2 Deployments whose pods match its selector; lists them",
        fixture: Fixture::Objects(Some("classic"), THIRD),
        runs: &[
            exits(
                &["status", "blueservice"],
                4,
                &[
                    "colour \"green\" has 2 Deployments whose pods match app=green",
                    "greendeploy, greendeploy-v2",
                ],
            ),
            exits(
                &["promote", "blueservice", "--yes"],
                4,
                &["greendeploy, greendeploy-v2"],
            ),
        ],
    },
    Row {
        case: "green at 0 replicas",
        readme: "`status` shows it and says promote is not safe; `promote` refuses: greendeploy has 0 replicas",
        fixture: Fixture::Objects(None, GREEN_AT_ZERO),
        runs: &[
            exits(
                &["status", "blueservice"],
                0,
                &["greendeploy", "greendeploy has 0 replicas", "not safe"],
            ),
            exits(
                &["promote", "blueservice", "--yes"],
                5,
                &[
                    "cannot promote blueservice to green",
                    "greendeploy has 0 replicas",
                ],
            ),
        ],
    },
    Row {
        case: "an ExternalName Service",
        readme: "the Service is of type ExternalName: no endpoints, so no selector can move its traffic",
        fixture: Fixture::Objects(None, PAIRLESS),
        runs: &[
            exits(
                &["status", "database"],
                4,
                &[
                    "Service \"database\"",
                    "type ExternalName",
                    "db.example.com",
                ],
            ),
            exits(&["promote", "database", "--yes"], 4, &["type ExternalName"]),
        ],
    },
    Row {
        case: "a headless Service",
        readme: "works as any Service: its EndpointSlices (and so its DNS answers) follow the selector",
        fixture: Fixture::Objects(None, HEADLESS),
        runs: &[
            exits(
                &["status", "headless"],
                0,
                &[
                    "Service:   headless",
                    "promote would move headless from blue to green: safe",
                ],
            ),
            exits(
                &["promote", "headless", "--dry-run"],
                0,
                &["Plan: promote headless from blue to green"],
            ),
        ],
    },
    Row {
        case: "unusual but valid names (63-character Service name and label values, 240-character Deployment names, dots, dashes, prefixed keys)",
        readme: "work as any other",
        fixture: Fixture::Objects(None, UNUSUAL),
        runs: &[
            exits(
                &[
                    "status",
                    UNUSUAL_SERVICE,
                    "--label",
                    "bluegreen.example.com/track",
                    "--colors",
                    UNUSUAL_COLOURS,
                ],
                0,
                &["web.blue-1.aaaa", "web.green-2.aaaa", "safe"],
            ),
            exits(
                &[
                    "promote",
                    UNUSUAL_SERVICE,
                    "--label",
                    "bluegreen.example.com/track",
                    "--colors",
                    UNUSUAL_COLOURS,
                    "--dry-run",
                ],
                0,
                &[
                    "Plan: promote s23456789",
                    "bluegreen.example.com/track=v1.2.3-rc_1.a",
                ],
            ),
        ],
    },
    Row {
        case: "invalid `--colors`",
        readme: "expected two colours separated by a comma / the two colours must differ / not a valid label value",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[
            exits(
                &["status", "blueservice", "--colors", "blue"],
                2,
                &["--colors", "expected two colours separated by a comma"],
            ),
            exits(
                &["status", "blueservice", "--colors", "blue,blue"],
                2,
                &["the two colours must differ"],
            ),
            exits(
                &[
                    "promote",
                    "blueservice",
                    "--colors",
                    "Blue Sky,green",
                    "--yes",
                ],
                2,
                &["\"Blue Sky\" is not a valid label value"],
            ),
            exits(
                &["status", "blueservice", "--colors", "blue,green,red"],
                2,
                &["expected two colours"],
            ),
        ],
    },
    Row {
        case: "invalid `--label`",
        readme: "not a valid label key, and why (prefix, length, characters)",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[
            exits(
                &["status", "blueservice", "--label", "app color"],
                2,
                &["--label", "\"app color\" is not a valid label key"],
            ),
            exits(
                &["promote", "blueservice", "--label", "a/b/c", "--yes"],
                2,
                &["may contain one '/'"],
            ),
            exits(
                &["status", "blueservice", "--label", "Example.com/app"],
                2,
                &["must be a DNS subdomain"],
            ),
        ],
    },
    Row {
        case: "invalid `--timeout` or `--request-timeout`",
        readme: "not a duration; use units, e.g. 30s, 1m, 1m30s / cannot be negative",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[
            exits(
                &["promote", "blueservice", "--timeout", "soon", "--yes"],
                2,
                &["--timeout", "\"soon\" is not a duration"],
            ),
            exits(
                &["promote", "blueservice", "--timeout=-5s", "--yes"],
                2,
                &["cannot be negative"],
            ),
            exits(
                &["status", "blueservice", "--request-timeout", "10x"],
                2,
                &["--request-timeout", "is not a duration"],
            ),
        ],
    },
    Row {
        case: "`deploy` without `--image`",
        readme: "the required argument --image is missing",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[exits(&["deploy", "blueservice"], 2, &["--image"])],
    },
    Row {
        case: "`deploy --image` that is not an image reference",
        readme: "not an image reference: [registry[:port]/]path[:tag][@sha256:digest], the path in lower case",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[exits(
            &["deploy", "blueservice", "--image", "Nginx:1 .2"],
            2,
            &["is not an image reference"],
        )],
    },
    Row {
        case: "`deploy --image` naming an unknown container",
        readme: "the pod template has no container X; lists its containers",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[exits(
            &[
                "deploy",
                "blueservice",
                "--image",
                "sidecar=nginx:1",
                "--yes",
            ],
            5,
            &["no container \"sidecar\"", "(it has web)"],
        )],
    },
    Row {
        case: "`deploy` while a release is in progress",
        readme: "a release is in progress (step cleanup); finish it with cleanup (or roll it back), then deploy",
        fixture: Fixture::Objects(None, IN_PROGRESS),
        runs: &[exits(
            &["deploy", "blueservice", "--image", "nginx:2", "--yes"],
            5,
            &[
                "in progress (step cleanup)",
                "kubectl bluegreen cleanup blueservice",
            ],
        )],
    },
    Row {
        case: "`deploy` with a live colour that has no Deployment",
        readme: "the live colour has no Deployment to copy the new version's settings from",
        fixture: Fixture::Objects(None, LIVE_WITHOUT_DEPLOYMENT),
        runs: &[exits(
            &["deploy", "blueservice", "--image", "nginx:2", "--yes"],
            5,
            &["has no Deployment to copy"],
        )],
    },
    Row {
        case: "invalid `-o`",
        readme: "invalid value; lists the possible values",
        fixture: Fixture::Objects(Some("classic"), ""),
        runs: &[exits(
            &["status", "blueservice", "-o", "xml"],
            2,
            &["invalid value 'xml'", "table", "wide", "json", "yaml"],
        )],
    },
];

/// A CA that did not sign the sandbox's certificate, as a PEM file.
fn foreign_ca(dir: &Path) -> PathBuf {
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("a CA certificate");
    let path = dir.join("foreign-ca.pem");
    std::fs::write(&path, cert.pem()).expect("write the CA");
    path
}

/// Runs one row; returns what is wrong with it.
fn check(row: &Row) -> Vec<String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (sandbox, kubeconfig): (Option<Sandbox>, Option<PathBuf>) = match row.fixture {
        Fixture::Nothing => (None, None),
        Fixture::KubeconfigText(text) => {
            let path = dir.path().join("kubeconfig");
            std::fs::write(&path, text).expect("write the kubeconfig");
            (None, Some(path))
        }
        Fixture::Objects(scenario, yaml) => {
            let sb = start(scenario);
            if !yaml.is_empty()
                && let Err(e) = sb.load_yaml(yaml)
            {
                return vec![format!("cannot load the objects: {e}")];
            }
            wait_settled(&sb);
            sb.clear_requests();
            let path = sb.kubeconfig_path().to_path_buf();
            (Some(sb), Some(path))
        }
        Fixture::Kubeconfig(edit) => {
            let sb = settled_scenario("classic");
            let text = std::fs::read_to_string(sb.kubeconfig_path()).expect("the kubeconfig");
            let mut config: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
            edit(&sb, dir.path(), &mut config);
            let path = dir.path().join("kubeconfig");
            std::fs::write(&path, serde_yaml::to_string(&config).expect("YAML"))
                .expect("write the kubeconfig");
            sb.clear_requests();
            (Some(sb), Some(path))
        }
    };
    let mut wrong = Vec::new();
    for expect in row.runs {
        let mut args: Vec<&str> = expect.args.to_vec();
        let path_text = kubeconfig.as_ref().map(|p| p.display().to_string());
        if let Some(path) = &path_text
            && !args.contains(&"--kubeconfig")
        {
            args.extend(["--kubeconfig", path]);
        }
        let got = common::run(&args);
        let shown = format!(
            "{}: `{}` exited {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            row.case,
            expect.args.join(" "),
            got.code,
            got.stdout,
            got.stderr
        );
        if got.code != expect.code {
            wrong.push(format!("expected exit {}; {shown}", expect.code));
        }
        let stream = if expect.code == 0 {
            &got.stdout
        } else {
            &got.stderr
        };
        for fragment in expect.says {
            if !stream.contains(fragment) {
                wrong.push(format!("lacks {fragment:?}; {shown}"));
            }
        }
        if expect.code != 0 && got.stderr.trim().is_empty() {
            wrong.push(format!("no message; {shown}"));
        }
        for panic in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            if got.stderr.contains(panic) || got.stdout.contains(panic) {
                wrong.push(format!("panicked; {shown}"));
            }
        }
        if got.code == 101 {
            wrong.push(format!("exit 101 is a panic; {shown}"));
        }
        for secret in ["TOPSECRET", "expired-token-0000"] {
            if got.stderr.contains(secret) || got.stdout.contains(secret) {
                wrong.push(format!("a credential from the kubeconfig leaked; {shown}"));
            }
        }
        if let Some(sb) = &sandbox {
            if got.stdout.contains(sb.token()) || got.stderr.contains(sb.token()) {
                wrong.push(format!("the token leaked; {shown}"));
            }
            let mutating: Vec<String> = sb
                .requests()
                .iter()
                .filter(|r| r.is_mutating())
                .map(|r| format!("{} {}", r.method, r.path))
                .collect();
            if !mutating.is_empty() {
                wrong.push(format!(
                    "mutating requests were sent: {mutating:?}; {shown}"
                ));
            }
            if expect.code == 2 && !sb.requests().is_empty() {
                wrong.push(format!("a usage error sent requests; {shown}"));
            }
        }
    }
    wrong
}

#[test]
fn the_bad_input_catalogue() {
    let results: Vec<(&str, Vec<String>)> = std::thread::scope(|scope| {
        // Two rows at a time: each starts a sandbox and runs the binary.
        let mut results = Vec::new();
        for chunk in CATALOGUE.chunks(2) {
            let handles: Vec<_> = chunk
                .iter()
                .map(|row| (row.case, scope.spawn(move || check(row))))
                .collect();
            for (case, handle) in handles {
                let wrong = handle
                    .join()
                    .unwrap_or_else(|_| vec!["the check itself panicked".to_string()]);
                results.push((case, wrong));
            }
        }
        results
    });
    let runs: usize = CATALOGUE.iter().map(|r| r.runs.len()).sum();
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, wrong)| !wrong.is_empty())
        .map(|(case, wrong)| format!("## {case}\n{}", wrong.join("\n")))
        .collect();
    eprintln!(
        "bad-input catalogue: {} rows, {runs} runs, {} rows failed",
        CATALOGUE.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// The codes of a row as the README's table shows them.
fn codes(row: &Row) -> String {
    let mut shown: Vec<String> = Vec::new();
    for expect in row.runs {
        let command = expect.args[0];
        let entry = if row.runs.iter().all(|e| e.code == expect.code) {
            expect.code.to_string()
        } else {
            format!("{} (`{command}`)", expect.code)
        };
        if !shown.contains(&entry) {
            shown.push(entry);
        }
    }
    shown.join(", ")
}

#[test]
fn the_readme_lists_the_catalogue() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let section = readme
        .split("## When the input is wrong")
        .nth(1)
        .expect("a README section \"When the input is wrong\"");
    let section = section.split("\n## ").next().unwrap_or(section);
    let table: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| case"))
        .collect();
    let wanted: Vec<String> = CATALOGUE
        .iter()
        .map(|row| format!("| {} | {} | {} |", row.case, row.readme, codes(row)))
        .collect();
    assert_eq!(
        table,
        wanted.iter().map(String::as_str).collect::<Vec<_>>(),
        "the README's table must list the catalogue's rows, in order:\n{}",
        wanted.join("\n")
    );
}

/// The headless row's promote for real: the selector flip moves a headless Service's
/// EndpointSlices (what its DNS name answers) as it does any other Service's.
#[test]
fn a_headless_service_is_promoted_like_any_other() {
    let sb = start(None);
    sb.load_yaml(HEADLESS).expect("the headless Service");
    wait_settled(&sb);
    run_against(
        &sb,
        &["promote", "headless", "--yes", "--scale-down-delay", "0"],
    )
    .expect_code(0)
    .stdout_has(&["Promoted headless: blue → green."]);
    let doc = wait_for_json(
        &sb,
        &["status", "headless"],
        std::time::Duration::from_secs(20),
        |doc| doc["liveColour"] == "green",
    );
    assert_eq!(doc["service"]["selector"]["app"], "green");
}

/// The unusual names through a whole promote: a prefixed colour key, long values and names.
#[test]
fn unusual_names_go_through_a_whole_promote() {
    let sb = start(None);
    sb.load_yaml(UNUSUAL).expect("the objects");
    wait_settled(&sb);
    let args = [
        "--label",
        "bluegreen.example.com/track",
        "--colors",
        UNUSUAL_COLOURS,
    ];
    let mut promote = vec![
        "promote",
        UNUSUAL_SERVICE,
        "--yes",
        "--scale-down-delay",
        "0",
    ];
    promote.extend(args);
    run_against(&sb, &promote).expect_code(0);
    let mut status = vec!["status", UNUSUAL_SERVICE];
    status.extend(args);
    let doc = wait_for_json(&sb, &status, std::time::Duration::from_secs(20), |doc| {
        doc["liveColour"]
            .as_str()
            .is_some_and(|c| c.starts_with("v1.2.4"))
    });
    assert_eq!(
        doc["service"]["selector"]["app.kubernetes.io/name"], "web",
        "only the colour key changes: {doc:#}"
    );
}
