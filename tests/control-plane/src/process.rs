//! One server process, run under a tiny `sh` supervisor so that it never outlives the process
//! that started it.
//!
//! The supervisor holds the read end of a pipe whose write end only the test process has (the
//! child's stdin). When the test process closes it — on drop, on a panic that unwinds, or
//! because the kernel closes every descriptor of a process that was SIGKILLed — the supervisor
//! reads end-of-file, sends SIGTERM to the server and SIGKILL a few seconds later if it is
//! still there. When the server exits by itself, the supervisor exits with its status, which
//! [`Server::exited`] reports.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::Error;

/// `sh -c SCRIPT sh BINARY ARGS...`: runs `"$@"` in the background with stdin from /dev/null,
/// and a watcher that waits for end-of-file on the supervisor's stdin (kept as fd 3).
const SUPERVISOR: &str = r#"
exec 3<&0 </dev/null
"$@" 3<&- &
pid=$!
(
    cat <&3 >/dev/null 2>&1
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
) &
watcher=$!
exec 3<&-
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// A running server and its supervisor.
pub(crate) struct Server {
    pub name: &'static str,
    pub log: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Server {
    /// Starts `binary args...` with stdout and stderr appended to `log`.
    pub fn spawn(
        name: &'static str,
        binary: &Path,
        args: &[String],
        log: PathBuf,
    ) -> Result<Server, Error> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| Error::io(&log, e))?;
        let err = out.try_clone().map_err(|e| Error::io(&log, e))?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("sh")
            .arg(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::Spawn {
                component: name,
                message: format!("sh: {e}"),
            })?;
        let stdin = child.stdin.take();
        Ok(Server {
            name,
            log,
            child,
            stdin,
        })
    }

    /// `Some(status)` once the server (and so its supervisor) has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `n` lines of the server's log.
    pub fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log, n)
    }

    /// Asks the supervisor to stop the server (closes its pipe); returns at once.
    pub fn request_stop(&mut self) {
        self.stdin.take();
    }

    /// Waits (bounded) for the supervisor to finish; kills it if it does not.
    pub fn wait_stopped(&mut self, deadline: Instant) {
        self.request_stop();
        loop {
            if self.exited().is_some() {
                return;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.wait_stopped(Instant::now() + Duration::from_secs(8));
    }
}

/// The last `n` lines of a file (empty when it cannot be read).
pub(crate) fn log_tail(path: &Path, n: usize) -> String {
    let Ok(file) = File::open(path) else {
        return String::new();
    };
    let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}
