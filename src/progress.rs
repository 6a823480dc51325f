//! Progress of long waits on stderr: one line redrawn in place on a terminal, one line per
//! change otherwise (CI logs stay readable).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::duration::humanize;

/// A progress line on stderr.
#[derive(Debug)]
pub struct Progress {
    terminal: bool,
    last: String,
    open: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    /// A progress line; redrawn in place only when stderr is a terminal.
    pub fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            last: String::new(),
            open: false,
        }
    }

    /// Whether the line is redrawn in place (stderr is a terminal).
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Shows `message` as the current state of a wait.
    pub fn update(&mut self, message: &str) {
        if message == self.last {
            return;
        }
        let mut err = std::io::stderr().lock();
        // A failing stderr is not a reason to stop a release half-way.
        let _ = if self.terminal {
            self.open = true;
            write!(err, "\r\u{1b}[2K{message}")
        } else {
            writeln!(err, "{message}")
        };
        let _ = err.flush();
        self.last = message.to_string();
    }

    /// Ends the current wait with a final line.
    pub fn done(&mut self, message: &str) {
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal && self.open {
            writeln!(err, "\r\u{1b}[2K{message}")
        } else {
            writeln!(err, "{message}")
        };
        self.open = false;
        self.last.clear();
    }

    /// Prints one diagnostic line (not part of a wait).
    pub fn say(&mut self, message: &str) {
        if self.open {
            self.done(&self.last.clone());
        }
        eprintln!("{message}");
    }
}

/// A deadline, `None` meaning no limit.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// `limit` from now.
    pub fn after(limit: Option<Duration>) -> Deadline {
        Deadline(limit.map(|l| Instant::now() + l))
    }

    /// Time left; `None` when unlimited.
    pub fn left(&self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether the time is up.
    pub fn passed(&self) -> bool {
        self.left().is_some_and(|l| l.is_zero())
    }

    /// `4m10s left`, or empty when unlimited.
    pub fn describe(&self) -> String {
        match self.left() {
            Some(left) => format!(
                ", {} left",
                humanize(Duration::from_secs(left.as_secs().max(1)))
            ),
            None => String::new(),
        }
    }

    /// Sleeps until the deadline (forever when unlimited).
    pub async fn wait(&self) {
        match self.0 {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    }
}
