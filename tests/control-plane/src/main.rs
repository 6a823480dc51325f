//! Starts the control plane and keeps it running until stdin closes or the process is stopped
//! (Ctrl-C, SIGTERM, SIGKILL: the servers go with it).
//!
//! ```sh
//! cargo run -p bluegreen-control-plane
//! ```
//!
//! Prints, one per line: `KUBECONFIG=<admin kubeconfig>`, `USER_KUBECONFIG=<non-admin>`,
//! `DATA_DIR=<dir>`, `SERVER=<url>`, `VERSION=<gitVersion>`, `STARTUP_MS=<ms>`, then `READY`.

use std::io::{BufRead, Write};

fn main() {
    let cp = match control_plane::ControlPlane::start() {
        Ok(cp) => cp,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "KUBECONFIG={}", cp.kubeconfig_path().display());
    let _ = writeln!(
        out,
        "USER_KUBECONFIG={}",
        cp.user_kubeconfig_path().display()
    );
    let _ = writeln!(out, "DATA_DIR={}", cp.data_dir().display());
    let _ = writeln!(out, "SERVER={}", cp.server_url());
    let _ = writeln!(out, "VERSION={}", cp.version());
    let _ = writeln!(out, "STARTUP_MS={}", cp.startup_time().as_millis());
    let _ = writeln!(out, "READY");
    let _ = out.flush();
    drop(out);
    // Runs until stdin reaches end-of-file (or the process is killed).
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
}
