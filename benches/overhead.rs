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
    let policy = booking_otel::RedactionPolicy::default();
    c.bench_function("scanner/clean_string", |b| {
        b.iter(|| workloads::micro::scan(&policy, workloads::micro::CLEAN))
    });
    c.bench_function("scanner/pan_string", |b| {
        b.iter(|| workloads::micro::scan(&policy, workloads::micro::WITH_PAN))
    });
    let (metrics, provider) = workloads::micro::metrics();
    c.bench_function("metrics/record_booking", |b| {
        b.iter(|| workloads::micro::record_booking(&metrics))
    });
    c.bench_function("metrics/booking_guard", |b| {
        b.iter(|| workloads::micro::booking_guard(&metrics))
    });
    let floor = workloads::micro::SdkFloor::new(&provider);
    c.bench_function("sdk/bound_histogram", |b| b.iter(|| floor.histogram()));
    c.bench_function("sdk/bound_counter", |b| b.iter(|| floor.counter()));
    c.bench_function("sdk/bound_up_down", |b| b.iter(|| floor.up_down()));
    c.bench_function("sdk/instant_elapsed", |b| {
        b.iter(workloads::micro::instant_elapsed)
    });
    let start = std::time::SystemTime::now();
    let end = start + std::time::Duration::from_millis(42);
    c.bench_function("sdk/system_time_sub", |b| {
        b.iter(|| workloads::micro::system_time_sub(start, end))
    });
}

criterion_group!(benches, overhead, micro);
criterion_main!(benches);
