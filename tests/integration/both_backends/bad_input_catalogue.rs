//! The bad-input catalogue's rows (data only): `tests/bad_input.rs` runs the rows that need no
//! cluster and checks that the README's table lists every row; `both_backends/bad_input.rs`
//! runs the rows that need one against the sandbox and the real control plane.

#![allow(dead_code)] // each includer uses its part

use std::path::{Path, PathBuf};

use sandbox::Sandbox;

/// Where a row's command line points.
#[derive(Clone, Copy)]
pub(crate) enum Fixture {
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
pub(crate) struct Expect {
    /// Arguments; `--kubeconfig` is added by the fixture.
    pub(crate) args: &'static [&'static str],
    pub(crate) code: i32,
    /// Fragments of the message: stderr when the code is not 0, else stdout.
    pub(crate) says: &'static [&'static str],
}

/// One catalogue row.
pub(crate) struct Row {
    /// The case, as the README's table names it.
    pub(crate) case: &'static str,
    /// What the plugin says, in short, as the README's table puts it.
    pub(crate) readme: &'static str,
    pub(crate) fixture: Fixture,
    pub(crate) runs: &'static [Expect],
}

pub(crate) const fn exits(
    args: &'static [&'static str],
    code: i32,
    says: &'static [&'static str],
) -> Expect {
    Expect { args, code, says }
}

pub(crate) const PAIRLESS: &str = r#"
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
pub(crate) const THIRD: &str = r#"
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
pub(crate) const IDENTICAL: &str = r#"
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
pub(crate) const IN_PROGRESS: &str = r#"
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
pub(crate) const LIVE_WITHOUT_DEPLOYMENT: &str = r#"
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
pub(crate) const GREEN_AT_ZERO: &str = r#"
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
pub(crate) const HEADLESS: &str = r#"
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
pub(crate) const UNUSUAL: &str = r#"
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

pub(crate) const UNUSUAL_SERVICE: &str =
    "s23456789-123456789-123456789-123456789-123456789-123456789-123";
pub(crate) const UNUSUAL_COLOURS: &str = "v1.2.3-rc_1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,v1.2.4-rc_2.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz9";

pub(crate) const MALFORMED: &str =
    "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: TOPSECRET-abc\n  [oops\n";

/// The catalogue. The README's table lists the same rows, in this order.
pub(crate) const CATALOGUE: &[Row] = &[
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
pub(crate) fn foreign_ca(dir: &Path) -> PathBuf {
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("a CA certificate");
    let path = dir.join("foreign-ca.pem");
    std::fs::write(&path, cert.pem()).expect("write the CA");
    path
}

/// What is wrong with `got` as the run `expect` of the row `label`: the exit code, each
/// expected fragment (as `fragment` adapts it to the back-end) in the stream the code says,
/// a message on failure, and no panic.
pub(crate) fn judge(
    label: &str,
    expect: &Expect,
    got: &crate::common::Run,
    fragment: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let shown = shown(label, expect, got);
    if got.code != expect.code {
        wrong.push(format!("expected exit {}; {shown}", expect.code));
    }
    let stream = if expect.code == 0 {
        &got.stdout
    } else {
        &got.stderr
    };
    for said in expect.says {
        let said = fragment(said);
        if !stream.contains(&said) {
            wrong.push(format!("lacks {said:?}; {shown}"));
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
    wrong
}

/// A run of the row `label`, for failure messages: its command line, exit code and output.
pub(crate) fn shown(label: &str, expect: &Expect, got: &crate::common::Run) -> String {
    format!(
        "{label}: `{}` exited {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        expect.args.join(" "),
        got.code,
        got.stdout,
        got.stderr
    )
}
