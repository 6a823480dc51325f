//! A process that started the control plane is SIGKILLed: none of the servers may survive it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// PIDs and command lines of the processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push((pid, cmdline));
        }
    }
    found
}

fn sigkill_leaves_nothing(binary: &str) {
    let mut child = Command::new(binary)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bluegreen-control-plane");
    let stdout = child.stdout.take().expect("stdout");
    let mut data_dir = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read stdout");
        if let Some(d) = line.strip_prefix("DATA_DIR=") {
            data_dir = d.to_string();
        }
        if line == "READY" {
            break;
        }
    }
    assert!(
        !data_dir.is_empty(),
        "the control plane did not start (see stderr above)"
    );

    let before = processes_mentioning(&data_dir);
    for name in control_plane::BINARIES {
        assert!(
            before
                .iter()
                .any(|(_, c)| c.contains(&format!("/bin/{name} "))),
            "{name} not running before the kill: {before:#?}"
        );
    }

    // SIGKILL: no destructor runs, only the kernel closes the process' descriptors.
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let start = Instant::now();
    loop {
        let left = processes_mentioning(&data_dir);
        if left.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "processes left {:?} after SIGKILL: {left:#?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The temporary directory is the only thing left (its owner was killed): remove it.
    if Path::new(&data_dir).starts_with(std::env::temp_dir()) {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn sigkill_of_the_owner_stops_every_server() {
    sigkill_leaves_nothing(env!("CARGO_BIN_EXE_bluegreen-control-plane"));
}
