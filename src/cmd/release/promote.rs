//! `promote SERVICE`: move production traffic to the idle colour, verify it, clean up.

use crate::cli::{GlobalArgs, PromoteArgs};
use crate::error::Result;
use crate::plan::ReleaseCommand;

/// Runs `promote`.
pub async fn run(global: &GlobalArgs, args: &PromoteArgs) -> Result<()> {
    super::run(
        global,
        &args.release,
        ReleaseCommand::Promote,
        args.wait,
        args.to.as_deref(),
    )
    .await
}
