//! `xacct`: the command-line front of `xacct_doctor` (`xacct doctor --help`).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use xacct_doctor::{parse_args, run, Command, USAGE};

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xacct: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("xacct {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Doctor { options, json } => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("xacct: cannot start the async runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            let report = runtime.block_on(run(&*options));
            if json {
                println!("{}", report.to_json());
            } else {
                println!("{report}");
            }
            ExitCode::from(u8::try_from(report.exit_code()).unwrap_or(1))
        }
        _ => ExitCode::from(2),
    }
}
