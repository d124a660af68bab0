//! The `gavel` executable: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = gavel::cli::Cli::parse();
    gavel::app::block_on(gavel::commands::run(cli))
}
