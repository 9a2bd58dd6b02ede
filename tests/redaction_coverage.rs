//! What a PCI/GDPR reviewer tries first, through the test kit's real pipeline (batch
//! processor, `RedactingExporter`, default policy):
//!
//! - secrets under every common key spelling (camelCase from JS clients, kebab-case
//!   headers, the HTTP header attributes of the semantic conventions);
//! - track 1 and track 2 data, whole, cardholder name included;
//! - a verification code written next to its keyword in free text;
//! - IBANs;
//! - and the false-positive budget: what must survive.
//!
//! Random cases are property tests; the text around them has no digits, so any digit
//! in the export came from the secret.

mod support;

use booking_otel::redaction::MASK;
use booking_otel::testing::TestTelemetry;
use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use proptest::prelude::*;
use support::pan::{pan, text};

/// Exports one span with `attributes` and one event carrying `message`, and returns
/// what the exporter received: (attributes, the event's `message` value).
fn export(attributes: Vec<KeyValue>, message: &str) -> (Vec<KeyValue>, String) {
    let telemetry = TestTelemetry::install();
    let tracer = telemetry.tracer_provider().tracer("redaction-coverage");
    let mut span = tracer.start("booking.coverage");
    span.set_attributes(attributes);
    span.add_event("log", vec![KeyValue::new("message", message.to_string())]);
    span.end();
    let spans = telemetry.spans();
    assert_eq!(spans.len(), 1);
    let event = spans[0].events.iter().next().expect("the event");
    let exported_message = event.attributes[0].value.as_str().to_string();
    (spans[0].attributes.clone(), exported_message)
}

#[test]
fn secrets_under_every_common_key_spelling_are_replaced() {
    let keys = [
        // From the issue: 16 of these 17 were exported in clear before.
        "cardNumber",
        "securityCode",
        "cardSecurityCode",
        "panNumber",
        "pinBlock",
        "trackData",
        "apiKey",
        "clientSecret",
        "card.cvc2",
        "passwd",
        "api_key",
        "x-api-key",
        "http.request.header.authorization",
        "http.request.header.cookie",
        "http.response.header.set-cookie",
        "payment.cvv",
        "user.password",
        // More spellings.
        "CARD_NUMBER",
        "card-number",
        "accessToken",
        "tls.privateKey",
        "http.request.header.x-api-key",
        // Written together, or plural.
        "payment.cardnumber",
        "securitycode",
        "cardcvv",
        "accesstoken",
        "CLIENTSECRET",
        "api_keys",
    ];
    let attributes: Vec<KeyValue> = keys
        .iter()
        .map(|key| KeyValue::new(*key, "s3cret-value"))
        .collect();
    let (exported, _) = export(attributes, "");
    assert_eq!(exported.len(), keys.len());
    for kv in exported {
        assert_eq!(
            kv.value,
            Value::String(MASK.into()),
            "{} was exported as {:?}",
            kv.key,
            kv.value
        );
    }
}

#[test]
fn the_false_positive_budget_survives_export() {
    let survivors = [
        "K7Q2ZP",
        "res-00000081",
        "BK-2026-000042",
        "2026-12-01T14:30:00Z",
        "1795000000123",
        "+44 20 7946 0958",
        "+1 (415) 555-2671",
        "+86 138 0013 8002",
        "EUR 1234.56",
        "room 204, 2 guests, 3 nights",
        "flight LH1234 FRA-JFK seat 23C",
    ];
    let attributes = survivors
        .iter()
        .map(|s| KeyValue::new("booking.note", s.to_string()))
        .collect();
    let (exported, _) = export(attributes, "");
    for (kv, original) in exported.iter().zip(survivors) {
        assert_eq!(kv.value.as_str(), original);
    }
}

/// A track 1 or track 2, with its sentinels or without.
fn track() -> impl Strategy<Value = (String, String)> {
    (
        pan(),
        "[A-Z]{2,10}/[A-Z]{2,10}",
        "[0-9]{4}",
        "[0-9]{3}",
        "[0-9]{0,15}",
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(pan, name, expiry, service, discretionary, track1, sentinels)| {
                let track = if track1 {
                    let (start, end) = if sentinels { ("%B", "?") } else { ("B", "") };
                    format!("{start}{pan}^{name}^{expiry}{service}{discretionary}{end}")
                } else {
                    let (start, end) = if sentinels { (";", "?") } else { ("", "") };
                    format!("{start}{pan}={expiry}{service}{discretionary}{end}")
                };
                (track, name)
            },
        )
}

/// A verification code after one of its keywords, in any case, with the separators
/// people write.
fn verification_code() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec![
            "cvv",
            "CVV",
            "cvv2",
            "CVC",
            "cvc2",
            "Cid",
            "csc",
            "security code",
            "Security Code",
            "verification code",
        ]),
        prop::sample::select(vec![" ", ": ", "=", " is ", "\":\"", " #", "- "]),
        "[0-9]{3,4}",
    )
        .prop_map(|(keyword, separator, code)| {
            let masked = format!("{keyword}{separator}{}", "*".repeat(code.len()));
            (format!("{keyword}{separator}{code}"), masked)
        })
}

/// ISO 13616 check digits for `country` and `bban`.
fn iban_with_check_digits(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut remainder: u32 = 0;
    for c in rearranged.chars() {
        let value = c.to_digit(36).expect("alphanumeric");
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    format!("{country}{:02}{bban}", 98 - remainder)
}

/// A valid IBAN of a few countries' formats, plain or in groups of four.
fn iban() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            "[0-9]{18}".prop_map(|b| ("DE", b)),
            "[A-Z]{4}[0-9]{14}".prop_map(|b| ("GB", b)),
            "[0-9]{10}[A-Z0-9]{11}[0-9]{2}".prop_map(|b| ("FR", b)),
            "[A-Z]{4}[0-9]{10}".prop_map(|b| ("NL", b)),
            "[0-9]{20}".prop_map(|b| ("ES", b)),
            "[0-9]{11}".prop_map(|b| ("NO", b)),
        ],
        any::<bool>(),
    )
        .prop_map(|((country, bban), grouped)| {
            let iban = iban_with_check_digits(country, &bban);
            if grouped {
                iban.as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                iban
            }
        })
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn track_data_is_masked_whole((track, name) in track(), before in text(), after in text()) {
        let message = format!("{before} {track} {after}");
        let (exported, exported_message) =
            export(vec![KeyValue::new("payment.swipe", message.clone())], &message);
        for out in [exported[0].value.as_str().to_string(), exported_message] {
            prop_assert!(!out.contains(&name), "the cardholder name escaped: {out}");
            prop_assert_eq!(digits(&out), "", "digits escaped: {}", out);
            prop_assert!(out.contains(MASK));
        }
    }

    #[test]
    fn a_verification_code_in_free_text_is_masked((code, masked) in verification_code(), before in text(), after in text()) {
        let message = format!("{before} {code} {after}");
        let expected = format!("{before} {masked} {after}");
        let (exported, exported_message) =
            export(vec![KeyValue::new("http.request.body", message.clone())], &message);
        for out in [exported[0].value.as_str().to_string(), exported_message] {
            prop_assert_eq!(&out, &expected);
        }
    }

    #[test]
    fn an_iban_keeps_only_its_country_and_last_four(iban in iban(), before in text(), after in text()) {
        let message = format!("{before} {iban} {after}");
        let (exported, exported_message) =
            export(vec![KeyValue::new("payment.note", message.clone())], &message);
        let compact: String = iban.chars().filter(|c| *c != ' ').collect();
        let last_four = &compact[compact.len() - 4..];
        for out in [exported[0].value.as_str().to_string(), exported_message] {
            prop_assert!(!out.contains(&iban), "the IBAN escaped: {}", out);
            prop_assert!(out.contains(&compact[..2]), "the country code is kept: {}", out);
            // Only the last four characters' digits may remain.
            prop_assert_eq!(digits(&out), digits(last_four), "{}", out);
        }
    }
}

#[test]
fn trace_state_values_and_scope_attributes_are_masked() {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{Context, InstrumentationScope};

    let telemetry = TestTelemetry::install();
    let trace_state =
        TraceState::from_key_value([("vendor", "card-4111111111111111"), ("session", "abc")])
            .unwrap();
    let remote = SpanContext::new(
        TraceId::from(7_u128),
        SpanId::from(9_u64),
        TraceFlags::SAMPLED,
        true,
        trace_state,
    );
    let scope = InstrumentationScope::builder("some-library")
        .with_attributes([
            KeyValue::new("library.api_key", "sk_live_123"),
            KeyValue::new("library.flavour", "plain"),
        ])
        .build();
    let tracer = telemetry.tracer_provider().tracer_with_scope(scope);
    let cx = Context::current().with_remote_span_context(remote);
    tracer
        .start_with_context("booking.from_upstream", &cx)
        .end();

    let span = telemetry.span("booking.from_upstream");
    let header = span.span_context.trace_state().header();
    assert!(!header.contains("4111111111"), "{header}");
    assert!(header.contains("session=abc"), "{header}");
    let scope_attributes: Vec<_> = span.instrumentation_scope.attributes().cloned().collect();
    assert_eq!(
        scope_attributes,
        vec![
            KeyValue::new("library.api_key", MASK),
            KeyValue::new("library.flavour", "plain")
        ]
    );
}
