//! `kubectl_complete-bluegreen`: what kubectl runs to complete `kubectl bluegreen ...`.
//!
//! kubectl passes the words typed after `bluegreen`, the last one being completed; this prints
//! the candidates and the directive line (see `kubectl_bluegreen::cli::complete`). It always exits 0
//! and prints nothing on stderr: a failed lookup just offers no candidates.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let words: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|word| word.to_string_lossy().into_owned())
        .collect();
    let text = kubectl_bluegreen::cli::complete::respond(&words).render();
    let mut stdout = std::io::stdout().lock();
    // A shell that stopped listening has nothing to be told.
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    ExitCode::SUCCESS
}
