//! The whole blue/green procedure against the bundled sandbox cluster, for anyone without a
//! cluster at hand:
//!
//! ```sh
//! cargo run --example demo            # status → promote → status → rollback → status
//! cargo run --example demo -- --serve # then keep the sandbox running to try kubectl by hand
//! ```
//!
//! Every step runs the same code the `kubectl-bluegreen` binary runs, with the same flags.

use std::process::ExitCode;

use clap::Parser;
use kubectl_bluegreen::cli::Cli;

/// The steps of the manual procedure, as a user would type them after `kubectl bluegreen`.
/// The scale-down delay is shortened from its 30 s default so the demo takes seconds.
const STEPS: &[&[&str]] = &[
    &["status", "blueservice"],
    &[
        "promote",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "3s",
    ],
    &["status", "blueservice"],
    &[
        "rollback",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "3s",
    ],
    &["status", "blueservice"],
];

fn main() -> ExitCode {
    let serve = std::env::args().any(|a| a == "--serve");
    let sandbox = match sandbox::Sandbox::start(sandbox::Options::default().scenario("classic")) {
        Ok(sb) => sb,
        Err(e) => {
            eprintln!("error: cannot start the sandbox cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    let kubeconfig = sandbox.kubeconfig_path().display().to_string();
    println!("Sandbox cluster running; to use it from another shell:");
    println!("  export KUBECONFIG={kubeconfig}\n");

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    for step in STEPS {
        println!("$ kubectl bluegreen {}", step.join(" "));
        let args = ["kubectl-bluegreen", "--kubeconfig", &kubeconfig]
            .into_iter()
            .chain(step.iter().copied());
        let cli = match Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = runtime.block_on(kubectl_bluegreen::run(cli)) {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code());
        }
        println!();
    }

    if serve {
        println!(
            "Serving until Ctrl-C. Try: kubectl get deploy,svc,pods --kubeconfig {kubeconfig}"
        );
        if let Err(e) = runtime.block_on(tokio::signal::ctrl_c()) {
            eprintln!("error: cannot wait for Ctrl-C: {e}");
        }
    }
    ExitCode::SUCCESS
}
