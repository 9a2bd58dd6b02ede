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
            println!(
                "scanner/clean_string\nscanner/pan_string\nmetrics/record_booking\nmetrics/booking_guard\n\
                 sdk/bound_histogram\nsdk/bound_counter\nsdk/bound_up_down\nsdk/instant_elapsed\nsdk/system_time_sub"
            );
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
            let policy = booking_otel::RedactionPolicy::default();
            let (metrics, provider) = workloads::micro::metrics();
            let floor = workloads::micro::SdkFloor::new(&provider);
            let start = std::time::SystemTime::now();
            let end = start + std::time::Duration::from_millis(42);
            let op: Box<dyn Fn()> = match id.as_str() {
                "scanner/clean_string" => Box::new(|| {
                    black_box(workloads::micro::scan(&policy, workloads::micro::CLEAN));
                }),
                "scanner/pan_string" => Box::new(|| {
                    black_box(workloads::micro::scan(&policy, workloads::micro::WITH_PAN));
                }),
                "metrics/record_booking" => Box::new(|| workloads::micro::record_booking(&metrics)),
                "metrics/booking_guard" => Box::new(|| workloads::micro::booking_guard(&metrics)),
                "sdk/bound_histogram" => Box::new(|| floor.histogram()),
                "sdk/bound_counter" => Box::new(|| floor.counter()),
                "sdk/bound_up_down" => Box::new(|| floor.up_down()),
                "sdk/instant_elapsed" => Box::new(|| {
                    black_box(workloads::micro::instant_elapsed());
                }),
                "sdk/system_time_sub" => Box::new(move || {
                    black_box(workloads::micro::system_time_sub(start, end));
                }),
                other => {
                    eprintln!("unknown case {other:?}; run with `list` to see the cases");
                    return ExitCode::FAILURE;
                }
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
