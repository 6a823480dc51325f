//! The crate's layering, checked on its sources (see `docs/design.md`, "Layers"): which
//! top-level module may use which, that only the command line uses clap, and that only
//! `execute` sends requests that change the cluster. Test code (`#[cfg(test)]` items) may reach
//! across layers and is not checked; comments are not code.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers from the top: a name, its top-level modules, and the layers it may use. Modules of
/// one layer may use each other.
const LAYERS: &[(&str, &[&str], &[&str])] = &[
    (
        "commands",
        &["cmd"],
        &[
            "cli", "render", "execute", "verdict", "plan", "pair", "cluster", "base",
        ],
    ),
    (
        "cli",
        &["cli"],
        &["render", "plan", "pair", "cluster", "base"],
    ),
    (
        "render",
        &["render"],
        &["verdict", "plan", "pair", "cluster", "base"],
    ),
    (
        "execute",
        &["execute"],
        &["plan", "pair", "cluster", "base"],
    ),
    ("verdict", &["verdict"], &["plan", "pair", "base"]),
    ("plan", &["plan"], &["pair", "cluster", "base"]),
    ("pair", &["pair"], &["cluster", "base"]),
    ("cluster", &["cluster"], &["base"]),
    ("base", &["duration", "error", "progress"], &[]),
];

/// Files outside any layer: the entry points, which may use everything.
const ENTRY: &[&str] = &["lib", "main", "bin", "layers"];

/// The layers allowed to name clap.
const CLAP_LAYERS: &[&str] = &["cli"];

/// The request parameters of changes, allowed only in `execute` (and, for one request that
/// stores nothing, in the file named here).
const CHANGES: &[&str] = &["PatchParams", "PostParams", "DeleteParams"];
const CHANGES_ALLOWED_IN: &[&str] = &["cluster/access.rs"];

fn layer_of(module: &str) -> Option<&'static str> {
    LAYERS
        .iter()
        .find(|(_, modules, _)| modules.contains(&module))
        .map(|(name, _, _)| *name)
}

fn may_use(from: &str, to: &str) -> bool {
    from == to
        || LAYERS
            .iter()
            .any(|(name, _, uses)| *name == from && uses.contains(&to))
}

/// The lines of `source` that are code: without whole-line comments and without the items
/// marked `#[cfg(test)]`, each with its 1-based line number.
fn code_lines(source: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut lines = source.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed == "#[cfg(test)]" {
            let indent = &line[..line.len() - trimmed.len()];
            let end = format!("{indent}}}");
            // The item that follows: one line (`mod x;`), or a block up to its closing brace at
            // the same indentation.
            for (_, item) in lines.by_ref() {
                let item_trimmed = item.trim_start();
                if item_trimmed.starts_with("#[") || item_trimmed.starts_with("//") {
                    continue;
                }
                if item.trim_end().ends_with('{') {
                    for (_, inner) in lines.by_ref() {
                        if inner.trim_end() == end {
                            break;
                        }
                    }
                }
                break;
            }
            continue;
        }
        out.push((i + 1, line));
    }
    out
}

/// The top-level modules a line names through `crate::` (also inside `crate::{a, b::c}`).
fn crate_modules(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `other_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            for part in inner.split(',') {
                let name = part.trim().split("::").next().unwrap_or_default();
                if !name.is_empty() {
                    out.push(name.to_string());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// Whether a line names `word` as a path segment or an identifier.
fn names(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Everything wrong with one file: `path` relative to `src/`, e.g. `plan/mod.rs`.
fn violations(path: &str, source: &str) -> Vec<String> {
    let module = path
        .split('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".rs");
    if ENTRY.contains(&module) {
        return Vec::new();
    }
    let Some(layer) = layer_of(module) else {
        return vec![format!(
            "src/{path}: module `{module}` is in no layer; add it to LAYERS in src/layers.rs and to docs/design.md"
        )];
    };
    let mut out = Vec::new();
    for (number, line) in code_lines(source) {
        for used in crate_modules(line) {
            // `crate::Error`, `crate::Result`: re-exports of the base layer.
            let used_layer = match used.as_str() {
                "Error" | "Result" => Some("base"),
                other => layer_of(other),
            };
            match used_layer {
                Some(to) if may_use(layer, to) => {}
                Some(to) => out.push(format!(
                    "src/{path}:{number}: the {layer} layer may not use `crate::{used}` (the {to} layer): {}",
                    line.trim()
                )),
                None => out.push(format!(
                    "src/{path}:{number}: `crate::{used}` is in no layer: {}",
                    line.trim()
                )),
            }
        }
        if !CLAP_LAYERS.contains(&layer) && (names(line, "clap") || names(line, "clap_complete")) {
            out.push(format!(
                "src/{path}:{number}: only the command line uses clap: {}",
                line.trim()
            ));
        }
        if layer != "execute" && !CHANGES_ALLOWED_IN.contains(&path) {
            for change in CHANGES {
                if names(line, change) {
                    out.push(format!(
                        "src/{path}:{number}: only execute/ changes the cluster ({change}): {}",
                        line.trim()
                    ));
                }
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut edges = BTreeSet::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let source = std::fs::read_to_string(file).expect("readable source");
        problems.extend(violations(&relative, &source));
        let module = relative.split('/').next().unwrap_or_default();
        for (_, line) in code_lines(&source) {
            for used in crate_modules(line) {
                edges.insert((module.trim_end_matches(".rs").to_string(), used));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The walk saw the crate: the commands use the command line and the plans.
    for (from, to) in [("cmd", "cli"), ("cmd", "plan"), ("pair", "cluster")] {
        assert!(
            edges.contains(&(from.to_string(), to.to_string())),
            "no use of {to} found in {from}: {edges:?}"
        );
    }
}

#[test]
fn the_layers_form_no_cycle() {
    // Depth-first from each layer: a path that comes back to where it started is a cycle.
    fn walk(layer: &str, path: &mut Vec<&'static str>) -> Option<String> {
        let (name, _, uses) = LAYERS.iter().find(|(name, _, _)| *name == layer)?;
        if path.contains(name) {
            return Some(format!("{} -> {name}", path.join(" -> ")));
        }
        path.push(name);
        for next in *uses {
            assert!(layer_of_name(next), "{name} uses the unknown layer {next}");
            if let Some(cycle) = walk(next, path) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    fn layer_of_name(name: &str) -> bool {
        LAYERS.iter().any(|(n, _, _)| *n == name)
    }
    for (name, _, _) in LAYERS {
        assert_eq!(walk(name, &mut Vec::new()), None, "a cycle");
    }
    let modules: Vec<&str> = LAYERS
        .iter()
        .flat_map(|(_, m, _)| m.iter().copied())
        .collect();
    let unique: BTreeSet<&str> = modules.iter().copied().collect();
    assert_eq!(unique.len(), modules.len(), "a module in two layers");
}

#[test]
fn the_check_finds_upward_uses_and_skips_test_code_and_comments() {
    let source = "\
//! See [`crate::cmd`].
use crate::plan::Plan;
use crate::{error::Result, render::View};
    // crate::cli in a comment
fn f() -> bool { crate::cli::VERBOSE }
#[cfg(test)]
mod tests {
    use crate::cmd::status;
    fn g() {
        let _ = crate::cli::X;
    }
}
#[cfg(test)]
mod fixtures;
fn h(p: clap::Id, q: kube::api::PatchParams) {}
";
    let found = violations("verdict.rs", source);
    let lines: Vec<&str> = found
        .iter()
        .map(|p| p.split(": ").next().unwrap_or_default())
        .collect();
    // `render` on line 3, `cli` on line 5; clap and a change on line 15.
    assert_eq!(
        lines,
        [
            "src/verdict.rs:3",
            "src/verdict.rs:5",
            "src/verdict.rs:15",
            "src/verdict.rs:15"
        ],
        "{found:#?}"
    );
    assert!(found[0].contains("`crate::render`"), "{}", found[0]);
    assert!(
        violations("cmd/status.rs", source)
            .iter()
            .all(|p| !p.contains("may not use"))
    );
    assert_eq!(
        violations("newthing.rs", "").len(),
        1,
        "an unknown module is reported"
    );
}
