//! `completion SHELL`: prints a static completion script for `kubectl-bluegreen` typed directly
//! (the scripts are generated beside the command-line definition, in [`crate::cli::completion`]).

use crate::cli::completion::{CompletionArgs, script};
use crate::error::Result;

/// Writes the script for `args.shell` to stdout.
pub fn run(args: &CompletionArgs) -> Result<()> {
    super::print(&script(args.shell))
}
