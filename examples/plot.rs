//! `greenwave plot` as a stand-alone program (same arguments):
//! cargo run --example plot -- --events FILE.csv --out FILE.svg|png [--from T] [--to T]

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match greenwave::plot::parse_args(&args).and_then(|o| greenwave::plot::plot(&o)) {
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
