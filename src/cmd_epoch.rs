//! `taosim epoch`: one subnet's Yuma epoch from a JSON file (or stdin) to JSON on stdout.
//!
//! The format is `sim::chain::yuma::json`'s; see `docs/src/yuma.md`. Bad input is one line
//! on stderr naming the file and the field, exit code 2.

use clap::Args;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for bad input.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code when the results cannot be written.
const EXIT_FAILED: u8 = 1;

/// Arguments of `taosim epoch`.
#[derive(Args)]
pub struct EpochArgs {
    /// Subnet state as JSON (`-` reads stdin).
    #[arg(long, short, value_name = "FILE")]
    input: PathBuf,
}

/// Reads the input, runs the epoch, prints the results.
pub fn cmd_epoch(args: &EpochArgs) -> ExitCode {
    let name = args.input.display().to_string();
    let text = if name == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(&args.input)
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {name}: cannot read: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    match sim::chain::yuma::json::run_json(&text) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()) {
                eprintln!("error: stdout: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {name}: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
