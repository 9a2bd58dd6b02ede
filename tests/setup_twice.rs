//! A second `Setup::install` while the first guard is alive is refused with a typed
//! error (it would silently replace the global providers and the first service's
//! resource); once the first guard is gone, installing works again. Globals: own binary.

use booking_otel::setup::{ExporterKind, Setup, SetupError};

fn quiet(name: &str) -> Setup {
    Setup::new(name)
        .traces_exporter(ExporterKind::None)
        .metrics_exporter(ExporterKind::None)
}

#[test]
fn a_second_install_is_refused_until_the_first_guard_is_gone() {
    let first = quiet("booking-service")
        .install()
        .expect("the first install");
    assert!(first.is_enabled());
    match quiet("payment-service").install() {
        Err(SetupError::AlreadyInstalled) => {}
        other => panic!("expected AlreadyInstalled, got {other:?}"),
    }
    // A refused install changed nothing: the first guard still works.
    assert!(first.is_enabled());
    first.flush().expect("nothing to export, nothing to fail");
    drop(first);
    let second = quiet("payment-service")
        .install()
        .expect("after the first guard is gone");
    second
        .shutdown()
        .expect("nothing to export, nothing to fail");
    let third = quiet("payment-service")
        .install()
        .expect("after an explicit shutdown");
    drop(third);
}
