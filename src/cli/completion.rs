//! The static completion scripts `completion SHELL` prints (see [`crate::cmd::completion`]), for
//! `kubectl-bluegreen` typed directly, generated from the command-line definition.
//!
//! `kubectl bluegreen <TAB>` is completed by kubectl itself, which asks the
//! `kubectl_complete-bluegreen` executable (see [`crate::cli::complete`]); that one also knows the
//! cluster's contexts, namespaces and Services.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;

/// The command name the scripts complete.
pub const BIN_NAME: &str = "kubectl-bluegreen";

/// The examples, shared by `-h` and `--help`.
macro_rules! examples {
    () => {
        "\
Examples:
  # bash: load now, or install for every new shell
  source <(kubectl-bluegreen completion bash)
  kubectl-bluegreen completion bash \\
    > ~/.local/share/bash-completion/completions/kubectl-bluegreen

  # zsh: a file named _kubectl-bluegreen in a directory of $fpath
  kubectl-bluegreen completion zsh > \"${fpath[1]}/_kubectl-bluegreen\"

  # fish
  kubectl-bluegreen completion fish \\
    > ~/.config/fish/completions/kubectl-bluegreen.fish

  # PowerShell: add to your profile
  kubectl-bluegreen completion powershell | Out-String | Invoke-Expression"
    };
}

/// Shown by `completion -h`.
pub const EXAMPLES: &str = examples!();

/// Shown by `completion --help`: the examples and how `kubectl bluegreen` is completed.
pub const LONG_HELP: &str = concat!(
    examples!(),
    "

These scripts complete `kubectl-bluegreen ...` typed directly: subcommands,
flags and the values of -o. For `kubectl bluegreen ...`, kubectl (1.26 or
later) completes the plugin itself by running an executable named
`kubectl_complete-bluegreen` from PATH. It ships next to the plugin (cargo
install and the release archives; krew unpacks it but does not put it on PATH)
and also completes contexts, namespaces and the cluster's Services. Put it on
PATH and keep kubectl's own completion (`kubectl completion SHELL`) loaded."
);

/// Arguments of `completion`.
#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// The shell to print the script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut command = Cli::command();
    let mut out = Vec::new();
    match shell {
        Shell::Bash => {
            clap_complete::generate(shell, &mut command, BASH_NAME, &mut out);
            register_bash(&String::from_utf8_lossy(&out))
        }
        _ => {
            clap_complete::generate(shell, &mut command, BIN_NAME, &mut out);
            String::from_utf8_lossy(&out).into_owned()
        }
    }
}

/// The name the bash script is generated for. clap_complete's bash generator spells a
/// subcommand's state from the binary name with `-` replaced in one place and kept in another,
/// so with `kubectl-bluegreen` no subcommand state ever matched and only the first word
/// completed. A name without `-` keeps both spellings equal; [`register_bash`] then registers
/// the function for the real name.
const BASH_NAME: &str = "kubectl_bluegreen";

/// Points the script's `complete -F ...` lines at [`BIN_NAME`].
fn register_bash(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    let suffix = format!(" {BASH_NAME}");
    for line in script.lines() {
        match line.strip_suffix(&suffix) {
            Some(start) if line.trim_start().starts_with("complete -F ") => {
                out.push_str(start);
                out.push(' ');
                out.push_str(BIN_NAME);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_name_the_binary_and_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let text = script(shell);
            assert!(text.contains(BIN_NAME), "{shell}: {text}");
            assert!(text.contains("status"), "{shell} lacks status");
            assert!(text.contains("completion"), "{shell} lacks completion");
            assert!(
                !text.contains("kubectl bluegreen"),
                "{shell} uses a spaced name"
            );
        }
    }

    #[test]
    fn bash_script_registers_a_completion_function() {
        let text = script(Shell::Bash);
        let registrations: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("complete -F"))
            .collect();
        assert!(!registrations.is_empty(), "{text}");
        for line in registrations {
            assert!(line.ends_with(" kubectl-bluegreen"), "{line}");
        }
        assert!(text.contains("--namespace"), "{text}");
        assert!(text.contains("json"), "-o values are listed");
    }
}
