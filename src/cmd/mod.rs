//! One module per subcommand.

pub mod list;
pub mod release;
pub mod status;
// Not a cluster command: prints the shells' completion scripts.
pub mod completion;

use std::io::Write;

use crate::cli::GlobalArgs;
use crate::cluster::ConnectOptions;
use crate::error::{Error, Result};

/// The connection options the global flags ask for.
pub fn connect_options(global: &GlobalArgs) -> ConnectOptions {
    ConnectOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
        namespace: global.namespace.clone(),
        request_timeout: global.request_timeout.0,
    }
}

/// Writes human or machine output to stdout and flushes it.
pub fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Output)
}
