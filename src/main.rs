//! The `gavel` executable: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = gavel::cli::Cli::parse();
    actix_web::rt::System::new().block_on(gavel::commands::run(cli))
}
