//! `cleanup SERVICE`: apply the cleanup policy to the idle colour now; never the live one.

use crate::cli::{GlobalArgs, ReleaseArgs};
use crate::error::Result;
use crate::plan::ReleaseCommand;

/// Runs `cleanup`.
pub async fn run(global: &GlobalArgs, args: &ReleaseArgs) -> Result<()> {
    super::run(global, args, ReleaseCommand::Cleanup, false, None).await
}
