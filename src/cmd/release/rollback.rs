//! `rollback SERVICE`: bring back the colour the journal records as previously live and move
//! traffic back to it.

use crate::cli::{GlobalArgs, ReleaseArgs};
use crate::error::Result;
use crate::plan::ReleaseCommand;

/// Runs `rollback`.
pub async fn run(global: &GlobalArgs, args: &ReleaseArgs) -> Result<()> {
    super::run(global, args, ReleaseCommand::Rollback, false, None).await
}
