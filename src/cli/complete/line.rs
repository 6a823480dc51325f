//! Reads the words typed so far against the command-line definition in [`crate::cli`]: which
//! subcommand they are in, which flags were given (with their values) and what the last word is
//! (a subcommand, a flag, a flag's value or a positional argument). Subcommands and flags come
//! from clap's definition, so they never drift from what the binary accepts.

use std::collections::BTreeMap;

use clap::{Arg, Command};

/// What the word being completed is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// The name of a subcommand of the current command.
    Subcommand,
    /// A flag name (the word starts with `-`).
    Flag,
    /// The value of the flag with this id (`-o <TAB>`, `--context=<TAB>`).
    FlagValue(String),
    /// The positional argument with this id (`status <TAB>`: `service`).
    Positional(String),
    /// Nothing can follow (a positional beyond the last, or after `help`'s topic).
    Nothing,
}

/// The analysed line.
#[derive(Debug, Clone)]
pub struct Line {
    /// Names of the subcommands entered, outermost first (empty at the top level).
    pub path: Vec<String>,
    /// What the last word is.
    pub slot: Slot,
    /// The part of the last word typed so far (after `=` for `--flag=value`).
    pub prefix: String,
    /// Values of the flags given before the last word, by argument id.
    pub given: BTreeMap<String, Vec<String>>,
}

impl Line {
    /// The last value given for the flag with this id.
    pub fn value(&self, id: &str) -> Option<&str> {
        self.given
            .get(id)
            .and_then(|values| values.last())
            .map(String::as_str)
    }
}

/// The command whose subcommands or arguments the line is in.
pub fn command_at<'a>(root: &'a Command, path: &[String]) -> &'a Command {
    let mut command = root;
    for name in path {
        match command.find_subcommand(name) {
            Some(sub) => command = sub,
            None => break,
        }
    }
    command
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values() && arg.get_num_args().is_none_or(|n| n.takes_values())
}

/// Whether the flag's value may be left out (`--dry-run` alone): then the next word is not its
/// value, and a value is given only as `--flag=value`.
fn value_optional(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.min_values() == 0) || arg.is_require_equals_set()
}

fn find_long<'a>(command: &'a Command, name: &str) -> Option<&'a Arg> {
    command.get_arguments().find(|a| {
        a.get_long() == Some(name)
            || a.get_all_aliases()
                .is_some_and(|aliases| aliases.contains(&name))
    })
}

fn find_short(command: &Command, c: char) -> Option<&Arg> {
    command.get_arguments().find(|a| {
        a.get_short() == Some(c)
            || a.get_all_short_aliases()
                .is_some_and(|aliases| aliases.contains(&c))
    })
}

fn positionals(command: &Command) -> Vec<&Arg> {
    let mut args: Vec<&Arg> = command.get_positionals().collect();
    args.sort_by_key(|a| a.get_index().unwrap_or(usize::MAX));
    args
}

/// Analyses `words`: the words after `kubectl bluegreen`, the last being the one completed
/// (empty when a new word starts). `root` must be built (`Command::build`) so that global flags
/// are visible in every subcommand.
pub fn analyse(root: &Command, words: &[String]) -> Line {
    let (current, typed) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut path: Vec<String> = Vec::new();
    let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut positional = 0usize;
    let mut after_dashes = false;
    // The flag whose value the next word is.
    let mut pending: Option<String> = None;

    for word in typed {
        let command = command_at(root, &path);
        if let Some(id) = pending.take() {
            given.entry(id).or_default().push(word.clone());
            continue;
        }
        if after_dashes {
            positional += 1;
            continue;
        }
        if word == "--" {
            after_dashes = true;
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if let Some(arg) = find_long(command, name) {
                let id = arg.get_id().to_string();
                match inline {
                    Some(value) => given.entry(id).or_default().push(value.to_string()),
                    None if takes_value(arg) && !value_optional(arg) => pending = Some(id),
                    None => given.entry(id).or_default().push(String::new()),
                }
            }
            continue;
        }
        if word.len() > 1 && word.starts_with('-') {
            // A cluster of short flags: `-vv`, `-n`, `-nshop`, `-ojson`.
            let chars: Vec<char> = word.chars().skip(1).collect();
            for (i, c) in chars.iter().enumerate() {
                let Some(arg) = find_short(command, *c) else {
                    break;
                };
                let id = arg.get_id().to_string();
                if takes_value(arg) {
                    let rest: String = chars[i + 1..].iter().collect();
                    let rest = rest.strip_prefix('=').unwrap_or(&rest).to_string();
                    if rest.is_empty() && !value_optional(arg) {
                        pending = Some(id);
                    } else {
                        given.entry(id).or_default().push(rest);
                    }
                    break;
                }
                given.entry(id).or_default().push(String::new());
            }
            continue;
        }
        if positional == 0
            && command.has_subcommands()
            && let Some(sub) = command.find_subcommand(word)
        {
            path.push(sub.get_name().to_string());
            continue;
        }
        positional += 1;
    }

    let command = command_at(root, &path);
    let (slot, prefix) = if let Some(id) = pending {
        (Slot::FlagValue(id), current.to_string())
    } else if after_dashes || !current.starts_with('-') {
        (
            position_slot(command, &path, positional),
            current.to_string(),
        )
    } else if let Some((name, value)) = current
        .strip_prefix("--")
        .and_then(|long| long.split_once('='))
    {
        match find_long(command, name) {
            Some(arg) if takes_value(arg) => {
                (Slot::FlagValue(arg.get_id().to_string()), value.to_string())
            }
            _ => (Slot::Nothing, value.to_string()),
        }
    } else {
        (Slot::Flag, current.to_string())
    };
    Line {
        path,
        slot,
        prefix,
        given,
    }
}

/// What a word that is not a flag completes at this point.
fn position_slot(command: &Command, path: &[String], positional: usize) -> Slot {
    // `help <TAB>` names a subcommand of the command it belongs to.
    if path.last().is_some_and(|name| name == "help") {
        return if positional == 0 {
            Slot::Subcommand
        } else {
            Slot::Nothing
        };
    }
    if positional == 0 && command.has_subcommands() {
        return Slot::Subcommand;
    }
    match positionals(command).get(positional) {
        Some(arg) => Slot::Positional(arg.get_id().to_string()),
        None => Slot::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn line(words: &[&str]) -> Line {
        let mut root = crate::cli::Cli::command();
        root.build();
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        analyse(&root, &words)
    }

    #[test]
    fn slots_of_typical_lines() {
        let cases: &[(&[&str], Slot, &str)] = &[
            (&[], Slot::Subcommand, ""),
            (&[""], Slot::Subcommand, ""),
            (&["st"], Slot::Subcommand, "st"),
            (&["status", ""], Slot::Positional("service".into()), ""),
            (
                &["status", "blue"],
                Slot::Positional("service".into()),
                "blue",
            ),
            (&["status", "web", ""], Slot::Nothing, ""),
            (&["status", "-"], Slot::Flag, "-"),
            (&["status", "--na"], Slot::Flag, "--na"),
            (&["status", "-o", ""], Slot::FlagValue("output".into()), ""),
            (
                &["status", "-o", "j"],
                Slot::FlagValue("output".into()),
                "j",
            ),
            (
                &["status", "--output=y"],
                Slot::FlagValue("output".into()),
                "y",
            ),
            (&["-n", ""], Slot::FlagValue("namespace".into()), ""),
            (
                &["status", "--context", "p"],
                Slot::FlagValue("context".into()),
                "p",
            ),
            (&["-n", "shop", ""], Slot::Subcommand, ""),
            (
                &["-n", "shop", "status", ""],
                Slot::Positional("service".into()),
                "",
            ),
            (
                &["status", "-vv", "-w", ""],
                Slot::Positional("service".into()),
                "",
            ),
            (&["status", "web", "-o", "json", ""], Slot::Nothing, ""),
            (&["completion", ""], Slot::Positional("shell".into()), ""),
            (&["help", ""], Slot::Subcommand, ""),
            (
                &["status", "--", "-x"],
                Slot::Positional("service".into()),
                "-x",
            ),
        ];
        for (words, slot, prefix) in cases {
            let analysed = line(words);
            assert_eq!(&analysed.slot, slot, "{words:?}");
            assert_eq!(analysed.prefix, *prefix, "{words:?}");
        }
    }

    #[test]
    fn flag_values_are_collected_in_every_form() {
        let analysed = line(&[
            "--kubeconfig",
            "/k",
            "status",
            "--context=prod",
            "-nshop",
            "--colors",
            "v1,v2",
            "",
        ]);
        assert_eq!(analysed.path, vec!["status".to_string()]);
        assert_eq!(analysed.value("kubeconfig"), Some("/k"));
        assert_eq!(analysed.value("context"), Some("prod"));
        assert_eq!(analysed.value("namespace"), Some("shop"));
        assert_eq!(analysed.value("colors"), Some("v1,v2"));
        assert_eq!(analysed.value("label"), None);
    }

    #[test]
    fn unknown_flags_do_not_swallow_the_next_word() {
        let analysed = line(&["status", "--unknown", ""]);
        assert_eq!(analysed.slot, Slot::Positional("service".into()));
    }
}
