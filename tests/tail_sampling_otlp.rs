//! Tail sampling through `setup` into a real OTLP/gRPC receiver on 127.0.0.1: 1,000
//! bookings, 5% failing and 2% rolling back, under the default rules. The receiver gets
//! exactly the failing and rolled-back traces, complete, plus the successful ones the
//! ratio rule keeps (computable from the trace id, so the expected set is exact).
//! `setup` installs globals, so this test has its own binary.

mod support;

use std::collections::{HashMap, HashSet};

use booking_otel::setup::{ExporterKind, Setup};
use booking_otel::tail_sampling::TailSampling;
use opentelemetry::trace::TraceId;
use support::bookings::booking;
use support::receiver::Running;

#[test]
fn the_receiver_gets_every_failed_and_rolled_back_booking_and_a_tenth_of_the_rest() {
    let receiver = Running::start();
    // 1,000 bookings in a tight loop make ~5,100 spans faster than one export thread
    // ships them: with the SDK's default queue (2,048) the overflow is dropped, and this
    // test is about sampling, not about that loss (measured and dealt with separately).
    // SAFETY: this binary's only test, before any thread of ours reads the environment.
    unsafe { std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "65536") };
    let rules = TailSampling::default();
    let guard = Setup::new("tail-sampling-test")
        .tail_sampling(rules.clone())
        .otlp_endpoint(format!("http://{}", receiver.address))
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup with tail sampling");

    let mut expected: HashMap<TraceId, usize> = HashMap::new();
    let (mut successes, mut kept_successes) = (0_u32, 0_u32);
    for i in 0..1000 {
        let (fails, rolls_back) = (i % 20 == 0, i % 50 == 7);
        let trace_id = booking(None, fails, rolls_back);
        let spans = if rolls_back { 6 } else { 5 };
        if fails || rolls_back {
            expected.insert(trace_id, spans);
        } else {
            successes += 1;
            if rules.keeps_by_ratio(trace_id) {
                kept_successes += 1;
                expected.insert(trace_id, spans);
            }
        }
    }
    guard.shutdown().expect("shutdown with the collector up");

    let mut received: HashMap<TraceId, usize> = HashMap::new();
    for span in receiver.spans() {
        let id: [u8; 16] = span
            .trace_id
            .as_slice()
            .try_into()
            .expect("16-byte trace id");
        *received.entry(TraceId::from_bytes(id)).or_default() += 1;
    }
    let received_ids: HashSet<&TraceId> = received.keys().collect();
    let expected_ids: HashSet<&TraceId> = expected.keys().collect();
    assert_eq!(received_ids, expected_ids, "exactly the expected traces");
    assert_eq!(received, expected, "each trace complete, each span once");
    let share = f64::from(kept_successes) / f64::from(successes);
    assert!((0.07..=0.13).contains(&share), "10% ± 3%: {share:.3}");
}
