//! Fixed-iteration driver for instruction counts under callgrind:
//!
//! ```text
//! cargo build --profile bench --example overhead_driver
//! valgrind --tool=callgrind target/release/examples/overhead_driver w1/step/sampled 10000
//! ```
//!
//! Run each case at two iteration counts and divide the difference in instructions by
//! the difference in iterations: setup and teardown cancel. `scripts/bench.py` does
//! this for every case. `list` prints the case ids.

#[path = "../benches/workloads.rs"]
mod workloads;

use std::hint::black_box;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cases = workloads::cases();
    match args.as_slice() {
        [list] if list == "list" => {
            for case in &cases {
                println!("{}", case.id());
            }
            for (id, _) in workloads::micro::cases().0 {
                println!("{id}");
            }
            ExitCode::SUCCESS
        }
        [id, iterations] => {
            let Ok(iterations) = iterations.parse::<u64>() else {
                eprintln!("iterations must be a number, got {iterations:?}");
                return ExitCode::FAILURE;
            };
            if let Some(case) = cases.iter().find(|c| c.id() == *id) {
                let env = case.env();
                let run = workloads::runner(case.variant);
                env.in_dispatch(|| {
                    for _ in 0..iterations {
                        black_box(run(&env));
                    }
                });
                // A batch pipeline's export thread finishes its work inside the run.
                env.flush();
                return ExitCode::SUCCESS;
            }
            let (cases, _provider) = workloads::micro::cases();
            let Some((_, op)) = cases.iter().find(|(micro, _)| micro == id) else {
                eprintln!("unknown case {id:?}; run with `list` to see the cases");
                return ExitCode::FAILURE;
            };
            for _ in 0..iterations {
                op();
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: overhead_driver <case> <iterations> | list");
            ExitCode::FAILURE
        }
    }
}
