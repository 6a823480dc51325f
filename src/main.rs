use std::io::IsTerminal;
use std::process::ExitCode;

use kubectl_bluegreen::cli::Cli;
use kubectl_bluegreen::error::{EXIT_INTERNAL, EXIT_OK, Error};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let verbosity = cli.global.verbosity();
    init_tracing(verbosity);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    match runtime.block_on(kubectl_bluegreen::run(cli)) {
        Ok(()) => ExitCode::from(EXIT_OK),
        // `| head` closed the pipe: the reader has what it wanted.
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(EXIT_OK)
        }
        // Ctrl-C is how `--watch` ends; the shell needs the code, not a message.
        Err(Error::Interrupted) => ExitCode::from(Error::Interrupted.exit_code()),
        Err(e) => {
            report(&e, verbosity > 0);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Prints the error; with `-v`, every cause under it too (the client's own errors, whose
/// words the message already gives where they help).
fn report(error: &Error, verbose: bool) {
    eprintln!("error: {error}");
    if !verbose {
        return;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
}

/// `-v` shows each API request (method, path, status); `-vv` adds the client's own detail
/// (kubectl's `-v=N`: see [`kubectl_bluegreen::cli::GlobalArgs::verbosity`]).
fn init_tracing(verbosity: u8) {
    // Only this crate's events by default: the client's own error logs would repeat, less
    // helpfully, what the final error message says.
    let directives = match verbosity {
        0 => "kubectl_bluegreen=warn",
        1 => "kubectl_bluegreen=info",
        _ => "kubectl_bluegreen=debug,kube=debug",
    };
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(directives))
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(verbosity > 1)
        .without_time()
        .init();
}
