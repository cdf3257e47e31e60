//! The platform-desk binary: parse the command line and run it.

use std::process::ExitCode;

fn main() -> ExitCode {
    platform_desk::cli::main()
}
