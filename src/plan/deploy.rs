//! The plan of `deploy`: put a new version on the idle colour, as the manual procedure's first
//! half does. The idle colour's Deployment gets the new images (and its replicas back if a
//! cleanup scaled it down); when it has none (deleted by `--cleanup delete`, or never created)
//! it is created from the live colour's Deployment with the colour swapped; its test Service is
//! created when there is none. Never touches the live colour or the production selector.

use serde_json::{Value, json};

use crate::pair::journal::Journal;
use crate::pair::snapshot::Snapshot;
use crate::plan::{Operation, Options, Outcome, Refusal, ReleaseCommand, colour, new_plan, step};

/// One `--image [CONTAINER=]IMAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// The container, when named.
    pub container: Option<String>,
    /// The image reference.
    pub image: String,
}

/// Plans `deploy`.
pub fn plan(snapshot: &Snapshot, options: &Options) -> Outcome {
    let service = snapshot.service.name.as_str();
    let live = snapshot.live_colour.as_str();
    let idle = snapshot.idle_colour.as_str();
    let journal = Journal::of(snapshot);
    let refuse = |reason: String, hint: Option<String>| {
        Outcome::Refused(Refusal {
            reason,
            blockers: Vec::new(),
            hint,
        })
    };
    if let Some(step_in_progress) = journal.step() {
        return refuse(
            format!(
                "a release of {service} is in progress (step {step_in_progress}); deploy waits until it is finished"
            ),
            Some(format!(
                "finish it with `kubectl bluegreen cleanup {service}` (or roll it back), then deploy"
            )),
        );
    }
    if options.images.is_empty() {
        return refuse(
            "deploy needs at least one --image [CONTAINER=]IMAGE".to_string(),
            None,
        );
    }
    let Some(live_manifest) = snapshot.manifests.get(live) else {
        return refuse(
            format!(
                "{live}, the live colour of {service}, has no Deployment to copy the new version's settings from"
            ),
            Some(format!(
                "create {live}'s Deployment (pods labelled {}) first",
                crate::pair::discover::selector_text(
                    &colour(snapshot, live)
                        .map(|c| c.selector.clone())
                        .unwrap_or_default()
                )
            )),
        );
    };
    let idle_manifest = snapshot.manifests.get(idle);
    // The containers the images go to, checked against the template they change.
    let template_of = idle_manifest.unwrap_or(live_manifest);
    let containers: Vec<String> = template_of["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut images: Vec<(String, String)> = Vec::new();
    for spec in &options.images {
        let container = match (&spec.container, containers.as_slice()) {
            (Some(name), _) if containers.contains(name) => name.clone(),
            (Some(name), _) => {
                return refuse(
                    format!(
                        "--image {name}={}: the pod template has no container {name:?} (it has {})",
                        spec.image,
                        containers.join(", ")
                    ),
                    Some("name one of its containers: --image CONTAINER=IMAGE".to_string()),
                );
            }
            (None, [only]) => only.clone(),
            (None, _) => {
                return refuse(
                    format!(
                        "--image {}: the pod template has {} containers ({}); say which one",
                        spec.image,
                        containers.len(),
                        containers.join(", ")
                    ),
                    Some("use --image CONTAINER=IMAGE".to_string()),
                );
            }
        };
        images.push((container, spec.image.clone()));
    }
    let live_state = colour(snapshot, live);
    let replicas = live_state
        .and_then(|c| c.deployment.as_ref())
        .map_or(1, |d| d.desired)
        .max(
            live_state
                .and_then(|c| c.hpas.iter().map(|h| h.min_replicas).max())
                .unwrap_or(1),
        )
        .max(1);
    let label = snapshot.service.colour_label.clone();
    let mut plan = new_plan(snapshot, ReleaseCommand::Deploy, idle);
    let described: Vec<String> = images.iter().map(|(c, i)| format!("{c}={i}")).collect();
    let deployment = match (
        idle_manifest,
        colour(snapshot, idle).and_then(|c| c.deployment.as_ref()),
    ) {
        (Some(_), Some(d)) => {
            let unchanged = images
                .iter()
                .all(|(c, i)| current_image(template_of, c).as_deref() == Some(i.as_str()));
            let mut patch = json!({"spec": {"template": {"spec": {"containers":
                images.iter().map(|(c, i)| json!({"name": c, "image": i})).collect::<Vec<_>>()
            }}}});
            let scale = d.desired == 0;
            if scale {
                patch["spec"]["replicas"] = json!(replicas);
            }
            if unchanged && !scale {
                plan.notes
                    .push(format!("{} already runs {}", d.name, described.join(", ")));
            }
            for difference in other_differences(live_manifest, template_of, &label) {
                plan.notes.push(format!(
                    "{}'s pod template differs from {}'s in {difference}: kept as it is",
                    d.name,
                    live_manifest["metadata"]["name"].as_str().unwrap_or(live)
                ));
            }
            let why = if scale {
                format!(
                    "the new version on {idle}, scaled back from 0 to {replicas} replicas (as {live} serves)"
                )
            } else {
                format!("the new version on {idle}")
            };
            step(
                &mut plan,
                Operation::PatchDeployment {
                    deployment: d.name.clone(),
                    colour: idle.to_string(),
                    patch,
                },
                why,
            );
            d.name.clone()
        }
        _ => {
            let name = deployment_name(snapshot, &journal, live_manifest, live, idle);
            let manifest = copy_for(live_manifest, &name, &label, live, idle, replicas, &images);
            step(
                &mut plan,
                Operation::CreateDeployment {
                    deployment: name.clone(),
                    colour: idle.to_string(),
                    manifest,
                },
                format!(
                    "{idle} has no Deployment: {name} is created from {}'s, with {label}={idle}, {replicas} replicas and the new images",
                    live_manifest["metadata"]["name"].as_str().unwrap_or(live)
                ),
            );
            name
        }
    };
    if colour(snapshot, idle).is_some_and(|c| c.test_services.is_empty()) {
        let name =
            swap_colour_word(service, live, idle).unwrap_or_else(|| format!("{service}-{idle}"));
        if !snapshot.service_types.contains_key(&name) {
            step(
                &mut plan,
                Operation::CreateService {
                    service: name.clone(),
                    colour: idle.to_string(),
                    manifest: test_service(&snapshot.service_manifest, &name, &label, idle),
                },
                format!(
                    "a test Service for {idle}, as the manual procedure has, to try the new version before it takes traffic"
                ),
            );
        }
    }
    if !options.no_wait {
        step(
            &mut plan,
            Operation::WaitAvailable {
                deployment: deployment.clone(),
                colour: idle.to_string(),
            },
            "the rollout completes and every pod is Ready; then promote is safe",
        );
    }
    step(
        &mut plan,
        Operation::RecordDeploy {
            colour: idle.to_string(),
            images: described.join(","),
        },
        "record in the journal what is on which colour",
    );
    step(
        &mut plan,
        Operation::Event {
            reason: "Deployed".into(),
            message: format!(
                "{service}: {} on {idle} ({deployment})",
                described.join(", ")
            ),
        },
        "record the deploy on the Service",
    );
    Outcome::Proceed(plan)
}

fn current_image(manifest: &Value, container: &str) -> Option<String> {
    manifest["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)
        .and_then(|c| c["image"].as_str().map(str::to_string))
}

/// Parts of the idle template that differ from the live one's, beyond images and the colour.
fn other_differences(live: &Value, idle: &Value, label: &str) -> Vec<String> {
    let normalise = |v: &Value| {
        let mut t = v["spec"]["template"].clone();
        if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
            labels.remove(label);
            labels.remove("pod-template-hash");
        }
        if let Some(cs) = t["spec"]["containers"].as_array_mut() {
            for c in cs {
                if let Some(o) = c.as_object_mut() {
                    o.remove("image");
                }
            }
        }
        t
    };
    let (a, b) = (normalise(live), normalise(idle));
    let mut out = Vec::new();
    for part in ["metadata", "spec"] {
        if let (Some(x), Some(y)) = (a[part].as_object(), b[part].as_object()) {
            for key in x.keys().chain(y.keys()) {
                if x.get(key) != y.get(key) && !out.contains(&format!("{part}.{key}")) {
                    out.push(format!("{part}.{key}"));
                }
            }
        }
    }
    out
}

/// The idle colour's Deployment name: the one the journal saved, else the live name with the
/// colour word swapped (`bluedeploy` → `greendeploy`), else `SERVICE-COLOUR`.
fn deployment_name(
    snapshot: &Snapshot,
    journal: &Journal,
    live_manifest: &Value,
    live: &str,
    idle: &str,
) -> String {
    let label = &snapshot.service.colour_label;
    if let Some(saved) = journal.saved_deployment()
        && saved["spec"]["template"]["metadata"]["labels"][label].as_str() == Some(idle)
        && let Some(name) = saved["metadata"]["name"].as_str()
    {
        return name.to_string();
    }
    live_manifest["metadata"]["name"]
        .as_str()
        .and_then(|n| swap_colour_word(n, live, idle))
        .unwrap_or_else(|| format!("{}-{idle}", snapshot.service.name))
}

/// `name` with the colour word swapped, if it has it.
fn swap_colour_word(name: &str, from: &str, to: &str) -> Option<String> {
    name.contains(from).then(|| name.replacen(from, to, 1))
}

/// The live Deployment as a new one for the idle colour.
fn copy_for(
    live: &Value,
    name: &str,
    label: &str,
    from: &str,
    to: &str,
    replicas: i32,
    images: &[(String, String)],
) -> Value {
    let swap = |labels: &mut Value| {
        if let Some(map) = labels.as_object_mut()
            && map.get(label).and_then(Value::as_str) == Some(from)
        {
            map.insert(label.to_string(), Value::String(to.to_string()));
        }
    };
    let mut spec = live["spec"].clone();
    spec["replicas"] = json!(replicas);
    swap(&mut spec["selector"]["matchLabels"]);
    swap(&mut spec["template"]["metadata"]["labels"]);
    if let Some(cs) = spec["template"]["spec"]["containers"].as_array_mut() {
        for c in cs {
            if let Some((_, image)) = images.iter().find(|(n, _)| c["name"] == n.as_str()) {
                c["image"] = Value::String(image.clone());
            }
        }
    }
    let mut labels = live["metadata"]["labels"].clone();
    swap(&mut labels);
    let mut metadata = json!({"name": name});
    if labels.is_object() {
        metadata["labels"] = labels;
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec})
}

/// A ClusterIP test Service selecting `colour`, with the production Service's ports.
fn test_service(production: &Value, name: &str, label: &str, colour: &str) -> Value {
    let mut selector = production["spec"]["selector"].clone();
    selector[label] = Value::String(colour.to_string());
    let ports: Vec<Value> = production["spec"]["ports"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let mut p = p.clone();
                    if let Some(o) = p.as_object_mut() {
                        o.remove("nodePort");
                    }
                    p
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"type": "ClusterIP", "selector": selector, "ports": ports},
    })
}
