//! `greenwave plot` as a stand-alone program (same arguments):
//! cargo run --example plot -- --events FILE.csv --out FILE.svg|png [--from T] [--to T]

use clap::Parser;

#[derive(Parser)]
#[command(name = "plot", about = "Timing diagram from an event log")]
struct Cli {
    #[command(flatten)]
    opts: greenwave::plot::PlotOptions,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match greenwave::plot::plot(&cli.opts) {
        Ok(summary) => {
            println!("{summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
