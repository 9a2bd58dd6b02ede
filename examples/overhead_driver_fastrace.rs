//! The fastrace baseline's fixed-iteration driver for callgrind (see
//! `overhead_driver.rs`, whose cases it completes): its own binary, because fastrace's
//! clock calibrates itself in a static constructor whose length varies from run to run.
//!
//! ```text
//! cargo build --profile bench --example overhead_driver_fastrace
//! valgrind --tool=callgrind target/release/examples/overhead_driver_fastrace w2/fastrace+batch/sampled 10000
//! ```

#[path = "../benches/workloads.rs"]
mod workloads;

#[path = "../benches/baselines/fastrace.rs"]
mod fastrace_baseline;

use std::hint::black_box;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [list] if list == "list" => {
            for case in fastrace_baseline::CASES {
                println!("{case}");
            }
            ExitCode::SUCCESS
        }
        [id, iterations] if fastrace_baseline::CASES.contains(&id.as_str()) => {
            let Ok(iterations) = iterations.parse::<u64>() else {
                eprintln!("iterations must be a number, got {iterations:?}");
                return ExitCode::FAILURE;
            };
            fastrace_baseline::install();
            let run = fastrace_baseline::runner(id);
            for _ in 0..iterations {
                black_box(run());
            }
            // The collector thread reports everything inside the run.
            fastrace_baseline::flush();
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: overhead_driver_fastrace <case> <iterations> | list");
            ExitCode::FAILURE
        }
    }
}
