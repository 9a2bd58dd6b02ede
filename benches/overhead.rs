//! Overhead benchmarks (criterion): W1 and W2 in every variant and sampling mode, the
//! redaction scanner, and booking metrics. `scripts/bench.py` runs this together with
//! the callgrind driver and prints the table in BENCHMARKS.md.

#[path = "workloads.rs"]
mod workloads;

#[path = "baselines/fastrace.rs"]
mod fastrace_baseline;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

fn overhead(c: &mut Criterion) {
    for case in workloads::cases() {
        let env = case.env();
        let run = workloads::runner(case.variant);
        env.in_dispatch(|| {
            c.bench_function(&case.id(), |b| b.iter(|| black_box(run(&env))));
        });
        drop(env);
    }
    fastrace_baseline::install();
    for case in fastrace_baseline::CASES {
        let run = fastrace_baseline::runner(case);
        c.bench_function(case, |b| b.iter(|| black_box(run())));
    }
}

fn micro(c: &mut Criterion) {
    let (cases, _provider) = workloads::micro::cases();
    for (id, op) in &cases {
        c.bench_function(id, |b| b.iter(op));
    }
}

criterion_group!(benches, overhead, micro);
criterion_main!(benches);
