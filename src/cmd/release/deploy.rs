//! `deploy SERVICE --image [CONTAINER=]IMAGE`: put a new version on the idle colour.

use crate::cli::{DeployArgs, GlobalArgs};
use crate::cmd::release::DeployAsk;
use crate::error::Result;
use crate::plan::ReleaseCommand;

/// Runs `deploy`.
pub async fn run(global: &GlobalArgs, args: &DeployArgs) -> Result<()> {
    let ask = DeployAsk {
        images: args.image.clone(),
        no_wait: args.no_wait,
    };
    super::run_asked(
        global,
        &args.release(),
        ReleaseCommand::Deploy,
        false,
        None,
        Some(&ask),
    )
    .await
}
