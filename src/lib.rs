//! `kubectl bluegreen`: safe, observable, reversible blue/green releases on plain Kubernetes
//! Deployments and Services.
//!
//! The crate is split by job into layers, each using only those below it (`docs/design.md`,
//! "Layers"; checked by a test):
//!
//! - [`cmd`]: one module per subcommand ([`cmd::release`]: what the release commands share),
//!   reading the arguments [`cli`] parsed; clap is used only in [`cli`], which also holds the
//!   completion scripts and the completion executable's logic ([`cli::complete`]);
//! - [`render`], beside the commands: draws snapshots, verdicts and plans;
//! - [`execute`]: carries a plan out, the only code that changes the cluster;
//! - [`verdict`]: `status`'s one-line answer, read off the plans;
//! - [`plan`]: decides what promote, rollback, cleanup and deploy would do (pure functions);
//! - [`pair`]: understands the blue/green pair and describes it as a [`pair::Snapshot`], with
//!   its [`pair::journal`];
//! - [`cluster`]: talks to the API server: the connection and every read (lists, watches,
//!   access reviews);
//! - [`error`] and [`progress`], used by all.

pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod duration;
pub mod error;
pub mod execute;
#[cfg(test)]
mod layers;
pub mod pair;
pub mod plan;
pub mod progress;
pub mod render;
pub mod verdict;

pub use error::{Error, Result};

/// Runs the command the user asked for. Ctrl-C stops it with [`Error::Interrupted`].
pub async fn run(cli: cli::Cli) -> Result<()> {
    let work = async {
        match &cli.command {
            cli::CommandArgs::Completion(args) => cmd::completion::run(args),
            cli::CommandArgs::Status(args) => cmd::status::run(&cli.global, args).await,
            cli::CommandArgs::List(args) => cmd::list::run(&cli.global, args).await,
            cli::CommandArgs::Promote(args) => cmd::release::promote::run(&cli.global, args).await,
            cli::CommandArgs::Rollback(args) => {
                cmd::release::rollback::run(&cli.global, args).await
            }
            cli::CommandArgs::Cleanup(args) => cmd::release::cleanup::run(&cli.global, args).await,
            cli::CommandArgs::Deploy(args) => cmd::release::deploy::run(&cli.global, args).await,
        }
    };
    tokio::select! {
        result = work => result,
        signal = tokio::signal::ctrl_c() => match signal {
            Ok(()) => Err(Error::Interrupted),
            Err(e) => Err(Error::Internal(format!("cannot listen for Ctrl-C: {e}"))),
        },
    }
}
