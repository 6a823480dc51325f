//! Dynamic completion for `kubectl bluegreen ...`, served by the `kubectl_complete-bluegreen`
//! executable.
//!
//! kubectl (1.26 and later) completes a plugin's arguments by running
//! `kubectl_complete-<plugin>` from PATH with the words typed after the plugin's name, the last
//! being the word completed (empty when a new word starts). The executable prints one candidate
//! per line, optionally followed by a tab and a description, and as its last line `:<directive>`:
//! the shell-completion directive bits of the cobra library kubectl is built on.
//!
//! Subcommands, flags and fixed values come from the command-line definition; contexts from the
//! kubeconfig; namespaces and Services from the cluster, within [`sources::DEADLINE`]. Errors
//! never show: no candidates is the answer, so that a broken kubeconfig does not spill messages
//! into the user's command line.

pub mod line;
pub mod rank;
pub mod sources;

use std::path::PathBuf;

use clap::{Arg, Command, CommandFactory};

use crate::cli::Cli;
use crate::cluster::ConnectOptions;
use crate::pair::discover::PairSpec;
use line::{Line, Slot};

/// Directive: let the shell complete file names when there is no candidate.
pub const DIRECTIVE_DEFAULT: u32 = 0;
/// Directive: never complete file names.
pub const DIRECTIVE_NO_FILE_COMP: u32 = 4;
/// Directive: show the candidates in the order given, not sorted.
pub const DIRECTIVE_KEEP_ORDER: u32 = 32;

/// One candidate and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The word to insert.
    pub value: String,
    /// A short description shown beside it; may be empty.
    pub description: String,
}

impl Candidate {
    /// A candidate with a description.
    pub fn new(value: impl Into<String>, description: impl Into<String>) -> Candidate {
        Candidate {
            value: value.into(),
            description: description.into(),
        }
    }
}

/// The answer to one completion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completions {
    /// Candidates, in the order to show them.
    pub candidates: Vec<Candidate>,
    /// The directive bits.
    pub directive: u32,
}

impl Completions {
    fn none() -> Completions {
        Completions {
            candidates: Vec::new(),
            directive: DIRECTIVE_NO_FILE_COMP,
        }
    }

    /// The text kubectl expects on stdout.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for candidate in &self.candidates {
            out.push_str(&one_line(&candidate.value));
            let description = one_line(&candidate.description);
            if !description.is_empty() {
                out.push('\t');
                out.push_str(&description);
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// Tabs and line breaks would break the line protocol.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Completes `words` (the arguments kubectl passes): analyses the line, then asks the
/// kubeconfig or the cluster only when the slot needs it.
pub fn respond(words: &[String]) -> Completions {
    let mut root = Cli::command();
    root.build();
    let line = line::analyse(&root, words);
    let command = line::command_at(&root, &line.path);
    let mut completions = match &line.slot {
        Slot::Subcommand => Completions {
            candidates: subcommands(line::command_at(&root, parent_path(&line))),
            directive: DIRECTIVE_NO_FILE_COMP,
        },
        Slot::Flag => Completions {
            candidates: flags(command, &line),
            directive: DIRECTIVE_NO_FILE_COMP,
        },
        Slot::FlagValue(id) | Slot::Positional(id) => match find_arg(command, id) {
            Some(arg) => values(arg, &line),
            None => Completions::none(),
        },
        Slot::Nothing => Completions::none(),
    };
    completions
        .candidates
        .retain(|c| c.value.starts_with(&line.prefix));
    completions
}

/// `help <TAB>` lists the subcommands of the command `help` belongs to.
fn parent_path(line: &Line) -> &[String] {
    match line.path.split_last() {
        Some((last, parent)) if last == "help" => parent,
        _ => &line.path,
    }
}

fn find_arg<'a>(command: &'a Command, id: &str) -> Option<&'a Arg> {
    command.get_arguments().find(|a| a.get_id() == id)
}

fn subcommands(command: &Command) -> Vec<Candidate> {
    let mut subs: Vec<&Command> = command
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .collect();
    // `help` last, as in kubectl's own listing.
    subs.sort_by_key(|s| (s.get_name() == "help", s.get_display_order()));
    subs.into_iter()
        .map(|s| Candidate::new(s.get_name(), about(s.get_about())))
        .collect()
}

fn about(text: Option<&clap::builder::StyledStr>) -> String {
    text.map(|t| t.to_string()).unwrap_or_default()
}

/// Flags of the command, long names; short names too when only `-` is typed. Flags already
/// given are left out unless they can repeat (`-v`).
fn flags(command: &Command, line: &Line) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    let shorts = line.prefix == "-" || (line.prefix.len() == 2 && !line.prefix.starts_with("--"));
    for arg in command.get_arguments() {
        if arg.is_positional() || arg.is_hide_set() {
            continue;
        }
        let repeats = matches!(
            arg.get_action(),
            clap::ArgAction::Count | clap::ArgAction::Append
        );
        if !repeats && line.given.contains_key(arg.get_id().as_str()) {
            continue;
        }
        let help = about(arg.get_help());
        if let Some(long) = arg.get_long() {
            candidates.push(Candidate::new(format!("--{long}"), help.clone()));
        }
        if shorts && let Some(short) = arg.get_short() {
            candidates.push(Candidate::new(format!("-{short}"), help));
        }
    }
    candidates
}

/// Values of an argument: its fixed values, or contexts, namespaces, Services; file names for
/// paths.
fn values(arg: &Arg, line: &Line) -> Completions {
    let fixed: Vec<Candidate> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| Candidate::new(v.get_name(), about(v.get_help())))
        .collect();
    if !fixed.is_empty() {
        return Completions {
            candidates: fixed,
            directive: DIRECTIVE_NO_FILE_COMP,
        };
    }
    let options = connect_options(line);
    let (candidates, directive) = match arg.get_id().as_str() {
        "kubeconfig" => (Vec::new(), DIRECTIVE_DEFAULT),
        "context" => (sources::contexts(&options), DIRECTIVE_NO_FILE_COMP),
        "namespace" => (
            block_on(sources::namespaces(&options)),
            DIRECTIVE_NO_FILE_COMP,
        ),
        "service" => (
            block_on(sources::services(&options, &pair_spec(line))),
            DIRECTIVE_NO_FILE_COMP | DIRECTIVE_KEEP_ORDER,
        ),
        "colors" => (
            vec![Candidate::new("blue,green", "the default colours")],
            DIRECTIVE_NO_FILE_COMP,
        ),
        _ => (Vec::new(), DIRECTIVE_NO_FILE_COMP),
    };
    Completions {
        candidates,
        directive,
    }
}

/// The connection flags typed on the line; the rest (KUBECONFIG, ~/.kube/config, the
/// context's namespace) is resolved as for every command.
fn connect_options(line: &Line) -> ConnectOptions {
    let non_empty = |id: &str| line.value(id).filter(|v| !v.is_empty()).map(str::to_string);
    ConnectOptions {
        kubeconfig: non_empty("kubeconfig").map(|p| PathBuf::from(expand_home(&p))),
        context: non_empty("context"),
        namespace: non_empty("namespace"),
        request_timeout: None,
    }
}

/// `~/x` as the shell would have expanded it, had the word not been quoted or completed.
fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if !home.is_empty() => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}

/// `--label` and `--colors` from the line, so pairs are recognised as the command will.
fn pair_spec(line: &Line) -> PairSpec {
    let mut spec = PairSpec {
        label: line
            .value("label")
            .filter(|l| !l.is_empty())
            .map(str::to_string),
        ..PairSpec::default()
    };
    if let Some(colours) = line.value("colors")
        && let Some((a, b)) = colours.split_once(',')
    {
        let (a, b) = (a.trim(), b.trim());
        if !a.is_empty() && !b.is_empty() && a != b && !b.contains(',') {
            spec.colours = [a.to_string(), b.to_string()];
        }
    }
    spec
}

/// Runs a cluster lookup on a small runtime of its own; no runtime, no candidates.
fn block_on(lookup: impl Future<Output = Vec<Candidate>>) -> Vec<Candidate> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(lookup),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(words: &[&str]) -> Completions {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        respond(&words)
    }

    fn values_of(c: &Completions) -> Vec<&str> {
        c.candidates.iter().map(|c| c.value.as_str()).collect()
    }

    #[test]
    fn subcommands_at_the_top() {
        let c = complete(&[""]);
        let names = values_of(&c);
        assert!(names.contains(&"status"), "{names:?}");
        assert!(names.contains(&"completion"), "{names:?}");
        assert!(names.contains(&"help"), "{names:?}");
        assert_eq!(c.directive, DIRECTIVE_NO_FILE_COMP);
        assert_eq!(values_of(&complete(&["sta"])), ["status"]);
    }

    #[test]
    fn output_values_with_descriptions() {
        let c = complete(&["status", "web", "-o", ""]);
        assert_eq!(values_of(&c), ["table", "wide", "json", "yaml"]);
        assert!(c.candidates.iter().all(|c| !c.description.is_empty()));
        assert_eq!(values_of(&complete(&["status", "--output=j"])), ["json"]);
    }

    #[test]
    fn flags_of_the_subcommand_include_the_global_ones() {
        let c = complete(&["status", "--"]);
        let names = values_of(&c);
        for flag in [
            "--output",
            "--watch",
            "--namespace",
            "--context",
            "--kubeconfig",
            "--help",
        ] {
            assert!(names.contains(&flag), "{flag} missing from {names:?}");
        }
        let given = complete(&["status", "-o", "json", "--"]);
        assert!(!values_of(&given).contains(&"--output"));
        assert!(values_of(&complete(&["status", "-"])).contains(&"-n"));
        assert_eq!(values_of(&complete(&["status", "--wa"])), ["--watch"]);
    }

    #[test]
    fn completion_shells_and_help_topics() {
        let shells = complete(&["completion", ""]);
        for shell in ["bash", "zsh", "fish", "powershell"] {
            assert!(values_of(&shells).contains(&shell), "{shell}");
        }
        assert!(values_of(&complete(&["help", "s"])).contains(&"status"));
    }

    #[test]
    fn kubeconfig_values_are_file_names() {
        let c = complete(&["--kubeconfig", ""]);
        assert!(c.candidates.is_empty());
        assert_eq!(c.directive, DIRECTIVE_DEFAULT);
    }

    #[test]
    fn rendering_follows_the_protocol() {
        let c = Completions {
            candidates: vec![
                Candidate::new("blueservice", "live\tblue"),
                Candidate::new("plain", ""),
            ],
            directive: DIRECTIVE_NO_FILE_COMP | DIRECTIVE_KEEP_ORDER,
        };
        assert_eq!(c.render(), "blueservice\tlive blue\nplain\n:36\n");
    }

    #[test]
    fn colours_on_the_line_shape_the_pair_spec() {
        let words: Vec<String> = ["status", "--colors", "v1,v2", "--label", "track", ""]
            .iter()
            .map(|w| w.to_string())
            .collect();
        let mut root = Cli::command();
        root.build();
        let spec = pair_spec(&line::analyse(&root, &words));
        assert_eq!(spec.colours, ["v1".to_string(), "v2".to_string()]);
        assert_eq!(spec.label.as_deref(), Some("track"));
    }
}
