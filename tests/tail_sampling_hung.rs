//! Tail sampling in front of a collector that never answers: the kept traces released
//! in one go (more than one 512-span batch) are abandoned at shutdown's deadline, and
//! every span is still accounted for (none stays "in flight" forever). `setup`
//! installs globals: own binary, one test; a watchdog fails a hang.

mod support;

use std::time::Duration;

use booking_otel::Step;
use booking_otel::setup::{ExporterKind, Setup};
use booking_otel::tail_sampling::TailSampling;
use support::faulty_receiver::Faulty;

#[test]
fn spans_released_by_tail_sampling_to_a_hung_collector_are_all_counted() {
    support::watchdog::abort_after(Duration::from_secs(60), "the tail-sampling shutdown");
    let receiver = Faulty::start();
    receiver.set_delay(Duration::from_secs(120));
    let guard = Setup::new("tail-sampling-hung")
        .otlp_endpoint(receiver.endpoint())
        .metrics_exporter(ExporterKind::None)
        // Keep everything; a trace is decided when its root ends.
        .tail_sampling(
            TailSampling::default()
                .ratio(1.0)
                .decision_wait(Duration::from_secs(3600)),
        )
        .install()
        .expect("setup");
    let delivery = guard.delivery();
    // One trace: 1,499 children wait for their root, which releases all 1,500 at once
    // (three chunks of at most 512 for the exporter).
    Step::new("booking.create").run(|| {
        for _ in 0..1_499 {
            Step::new("booking.notify").run(|| Some(()));
        }
        Some(())
    });
    let report = guard.shutdown();
    assert!(
        report.is_err(),
        "nothing could be delivered, and shutdown says so"
    );
    let counts = delivery.counts();
    assert_eq!(counts.finished, 1_500, "{counts:?}");
    assert_eq!(counts.in_flight, 0, "{counts:?}");
    assert_eq!(
        counts.finished,
        counts.exported + counts.sampled_out + counts.dropped.total(),
        "{counts:?}"
    );
    assert_eq!(counts.exported, 0, "{counts:?}");
}
