//! `kubectl bluegreen`: safe, observable, reversible blue/green releases on plain Kubernetes
//! Deployments and Services.
//!
//! The crate is split by job: [`cluster`] talks to the API server, [`pair`] understands the
//! blue/green pair and describes it as a [`pair::Snapshot`], [`plan`] decides what promote,
//! rollback and cleanup would do (pure functions), [`verdict`] reads `status`'s one-line answer
//! off those plans, [`execute`] carries a plan out, [`render`] draws it, and [`cmd`] holds one
//! module per subcommand.

pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod complete;
pub mod duration;
pub mod error;
pub mod execute;
pub mod journal;
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
            cli::Command::Completion(args) => cmd::completion::run(args),
            cli::Command::Status(args) => cmd::status::run(&cli.global, args).await,
            cli::Command::List(args) => cmd::list::run(&cli.global, args).await,
            cli::Command::Promote(args) => cmd::promote::run(&cli.global, args).await,
            cli::Command::Rollback(args) => cmd::rollback::run(&cli.global, args).await,
            cli::Command::Cleanup(args) => cmd::cleanup::run(&cli.global, args).await,
            cli::Command::Deploy(args) => cmd::deploy::run(&cli.global, args).await,
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
