//! `bluegreen-sandbox`: runs the sandbox cluster standalone, for demos and benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// An in-memory Kubernetes API server with the controllers blue/green releases depend on.
///
/// Example:
///
///   bluegreen-sandbox --scenario classic --speed 10 --kubeconfig /tmp/sandbox.kubeconfig
///   export KUBECONFIG=/tmp/sandbox.kubeconfig
///   kubectl get deploy,svc,pods
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Cli {
    /// Built-in scenario to load at start (`empty` loads nothing).
    #[arg(long, default_value = "classic", value_parser = scenario_names())]
    scenario: String,
    /// Manifest files (YAML or JSON) to load after the scenario.
    #[arg(long = "manifest", value_name = "FILE")]
    manifests: Vec<PathBuf>,
    /// Port to listen on, on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Clock speed: cluster delays are divided by it (1 = real time).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Where to write the kubeconfig (default: a temporary file removed on exit).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

fn scenario_names() -> clap::builder::PossibleValuesParser {
    let mut names: Vec<&'static str> = sandbox::scenarios::NAMES.to_vec();
    names.push("empty");
    clap::builder::PossibleValuesParser::new(names)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let mut opts = sandbox::Options::default().speed(cli.speed).port(cli.port);
    if let Some(path) = cli.kubeconfig {
        opts = opts.kubeconfig_file(path);
    }
    let sb = sandbox::Sandbox::start(opts)?;
    if cli.scenario != "empty" {
        sb.load_scenario(&cli.scenario)
            .map_err(|e| format!("cannot load scenario {:?}: {e}", cli.scenario))?;
    }
    for path in &cli.manifests {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        sb.load_yaml(&text)
            .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    }
    eprintln!(
        "sandbox serving {} with scenario {:?}; Ctrl-C stops it",
        sb.base_url(),
        cli.scenario
    );
    println!("export KUBECONFIG={}", sb.kubeconfig_path().display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the signal handler: {e}"))?;
    rt.block_on(tokio::signal::ctrl_c())
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    Ok(())
}
