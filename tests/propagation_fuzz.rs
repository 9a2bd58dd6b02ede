//! Fuzzing the header extractors (issue 16): a large number of random, garbage and
//! near-valid `traceparent`, `tracestate` and `baggage` values, as bytes and as text,
//! through `extract_from`, `extract` (OpenTelemetry `Extractor`) and `message_link`.
//! Whatever the input:
//!
//! - nothing panics, and no error reaches the caller (there is none to return);
//! - a valid (remote) context comes out exactly when the `traceparent` is valid by the
//!   W3C rules, checked against an independent oracle written from the specification,
//!   with the same ids and sampled flag; otherwise a fresh trace (no span context);
//! - a `tracestate` only comes with a valid context;
//! - the baggage that comes out is within the limits (64 entries, 8192 bytes) and is
//!   empty when the header is longer than 8192 bytes or not UTF-8;
//! - the two extraction paths agree, and `message_link` links exactly the valid ones;
//! - every rejected `traceparent` is counted once per extraction, under the oracle's
//!   reason.
//!
//! Cases: `BOOKING_OTEL_FUZZ_CASES` (default 20,000). The run prints the cases and the
//! cases per second (`cargo test --test propagation_fuzz -- --nocapture`).

use std::collections::HashMap;
use std::time::Instant;

use booking_otel::conventions::{attribute, metric};
use booking_otel::propagation::{
    MAX_BAGGAGE_BYTES, MAX_BAGGAGE_ENTRIES, MAX_TRACESTATE_BYTES, Rejection, extract, extract_from,
    message_link,
};
use booking_otel::testing::TestTelemetry;
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// One message's headers: each of the three may be missing.
#[derive(Clone)]
struct Input {
    traceparent: Option<Vec<u8>>,
    tracestate: Option<Vec<u8>>,
    baggage: Option<Vec<u8>>,
    /// How the names are spelled: lowercase, capitalised or uppercase.
    spelling: u8,
}

fn hex(len: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => from("0123456789abcdef", len..len + 1),
        1 => Just("0".repeat(len)),
        1 => from(HEX, len..len + 1),
    ]
}

/// Well-formed shapes, with any version, flags, suffix and white space.
fn shaped_traceparent() -> BoxedStrategy<Vec<u8>> {
    (
        prop_oneof![4 => Just("00".to_string()), 1 => Just("ff".to_string()), 2 => hex(2)],
        hex(32),
        hex(16),
        hex(2),
        prop_oneof![
            6 => Just(String::new()),
            1 => Just("-".to_string()),
            1 => from(PRINTABLE, 0..20).prop_map(|s| format!("-{s}")),
            1 => from(PRINTABLE, 1..5),
        ],
        prop_oneof![6 => Just(""), 1 => Just(" "), 1 => Just("\t"), 1 => Just(" \t ")],
    )
        .prop_map(|(version, trace, span, flags, suffix, ows)| {
            format!("{ows}{version}-{trace}-{span}-{flags}{suffix}{ows}").into_bytes()
        })
        .boxed()
}

/// A shaped value with a few bytes replaced, removed or inserted.
fn near_valid_traceparent() -> BoxedStrategy<Vec<u8>> {
    (
        shaped_traceparent(),
        prop::collection::vec((any::<prop::sample::Index>(), 0_u8..3, any::<u8>()), 1..4),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, op, byte) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, byte),
                }
            }
            bytes
        })
        .boxed()
}

fn traceparent() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => shaped_traceparent(),
        4 => near_valid_traceparent(),
        1 => bytes(0..80),
        1 => unicode(0..70).prop_map(String::into_bytes),
    ]
    .boxed()
}

/// Strings of `len` characters drawn from `alphabet`. The characters come from a seed
/// through a small PRNG rather than one strategy per character: ten times cheaper to
/// generate, which is what tens of thousands of cases in a debug build need. Lengths
/// still shrink; a seed shrinks toward other characters.
fn from(alphabet: &str, len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    let chars: Vec<char> = alphabet.chars().collect();
    (len, any::<u64>())
        .prop_map(move |(len, seed)| {
            let mut state = seed | 1;
            (0..len)
                .map(|_| {
                    // xorshift64
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    chars[(state % chars.len() as u64) as usize]
                })
                .collect()
        })
        .boxed()
}

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&'*+.^_`|~-";
const PRINTABLE: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
/// W3C `baggage-octet`s (printable ASCII but space, `"`, `,`, `;`, `\`), `%` left out:
/// percent-encoding is drawn on its own.
const BAGGAGE_OCTETS: &str =
    "!#$&'()*+-./0123456789:<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~";
const HEX: &str = "0123456789abcdefABCDEF";

/// Any text, including non-ASCII and control characters.
fn unicode(len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    (len, any::<u64>())
        .prop_map(|(len, seed)| {
            let mut state = seed | 1;
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Mostly ASCII and Latin-1 (delimiters, controls), some of everything.
                    let code = match state % 4 {
                        0 => (state >> 8) % 0x80,
                        1 => (state >> 8) % 0x100,
                        _ => (state >> 8) % 0x11_0000,
                    };
                    char::from_u32(code as u32).unwrap_or('\u{fffd}')
                })
                .collect()
        })
        .boxed()
}

/// Any bytes, valid UTF-8 or not.
fn bytes(len: std::ops::Range<usize>) -> BoxedStrategy<Vec<u8>> {
    (len, any::<u64>())
        .prop_map(|(len, seed)| {
            let mut state = seed | 1;
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect()
        })
        .boxed()
}

fn percent_encoded() -> BoxedStrategy<String> {
    prop::collection::vec(from(HEX, 2..3), 1..5)
        .prop_map(|bytes| bytes.iter().map(|b| format!("%{b}")).collect())
        .boxed()
}

fn tracestate() -> BoxedStrategy<Vec<u8>> {
    let key = prop_oneof![
        6 => from(LOWER, 1..12),
        1 => (from(LOWER, 1..8), from(LOWER, 1..16)).prop_map(|(t, s)| format!("{t}@{s}")),
        1 => from(PRINTABLE, 0..5),
    ];
    let value = prop_oneof![
        6 => from(&PRINTABLE.replace([',', '='], ""), 0..18),
        1 => from(PRINTABLE, 0..6),
    ];
    let member = (key.boxed(), value.boxed())
        .prop_map(|(k, v)| format!("{k}={v}"))
        .boxed();
    prop_oneof![
        // Mostly a few entries, sometimes about the 32 allowed.
        5 => prop::collection::vec(member.clone(), 0..8).prop_map(|m| m.join(",").into_bytes()),
        1 => prop::collection::vec(member, 28..40).prop_map(|m| m.join(",").into_bytes()),
        1 => bytes(0..60),
        1 => unicode(0..60).prop_map(String::into_bytes),
        1 => (1_usize..5_000).prop_map(|n| "a=b,".repeat(n).into_bytes()),
    ]
    .boxed()
}

fn baggage() -> BoxedStrategy<Vec<u8>> {
    let key = prop_oneof![
        8 => from(TOKEN, 1..12),
        1 => from(PRINTABLE, 0..6),
        1 => (percent_encoded(), from(LOWER, 0..3)).prop_map(|(p, k)| p + &k),
    ];
    let value = prop_oneof![
        6 => from(BAGGAGE_OCTETS, 0..24),
        2 => percent_encoded(),
        1 => from(PRINTABLE, 0..10),
        1 => unicode(0..6),
    ];
    let property = prop_oneof![
        3 => Just(String::new()),
        1 => from(LOWER, 1..5).prop_map(|k| format!(";{k}")),
        1 => (from(LOWER, 1..5), from(LOWER, 0..5)).prop_map(|(k, v)| format!(";{k}={v}")),
        1 => from(PRINTABLE, 0..6).prop_map(|p| format!(";{p}")),
    ];
    let ows = prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\t")];
    let member = (
        key.boxed(),
        ows.clone(),
        value.boxed(),
        property.boxed(),
        ows,
    )
        .prop_map(|(k, ows, v, p, ows2)| format!("{ows}{k}{ows2}={v}{p}{ows}"))
        .boxed();
    prop_oneof![
        // Mostly a few entries, sometimes about the 64 kept.
        5 => prop::collection::vec(member.clone(), 0..12).prop_map(|m| m.join(",").into_bytes()),
        1 => prop::collection::vec(member, 56..90).prop_map(|m| m.join(",").into_bytes()),
        1 => (8100_usize..8300).prop_map(|n| format!("k={}", "v".repeat(n)).into_bytes()),
        1 => bytes(0..120),
        1 => unicode(0..120).prop_map(String::into_bytes),
    ]
    .boxed()
}

fn input() -> BoxedStrategy<Input> {
    (
        prop::option::weighted(0.9, traceparent()),
        prop::option::weighted(0.5, tracestate()),
        prop::option::weighted(0.6, baggage()),
        0_u8..3,
    )
        .prop_map(|(traceparent, tracestate, baggage, spelling)| Input {
            traceparent,
            tracestate,
            baggage,
            spelling,
        })
        .boxed()
}

impl std::fmt::Debug for Input {
    /// Values as escaped text, readable in a failure report.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Vec<u8>>| v.as_ref().map(|v| v.escape_ascii().to_string());
        f.debug_struct("Input")
            .field("traceparent", &show(&self.traceparent))
            .field("tracestate", &show(&self.tracestate))
            .field("baggage", &show(&self.baggage))
            .field("spelling", &self.spelling)
            .finish()
    }
}

impl Input {
    fn name(&self, name: &str) -> String {
        match self.spelling {
            0 => name.to_string(),
            1 => name[..1].to_uppercase() + &name[1..],
            _ => name.to_uppercase(),
        }
    }

    /// Kafka-style headers, names spelled as drawn.
    fn kafka(&self) -> Vec<(String, Vec<u8>)> {
        [
            ("traceparent", &self.traceparent),
            ("tracestate", &self.tracestate),
            ("baggage", &self.baggage),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (self.name(name), v)))
        .collect()
    }

    /// The same as OpenTelemetry's `HashMap` extractor wants them (lowercase names,
    /// UTF-8 values); `None` when a value is not UTF-8.
    fn text_map(&self) -> Option<HashMap<String, String>> {
        let mut map = HashMap::new();
        for (name, value) in [
            ("traceparent", &self.traceparent),
            ("tracestate", &self.tracestate),
            ("baggage", &self.baggage),
        ] {
            if let Some(value) = value {
                map.insert(name.to_string(), String::from_utf8(value.clone()).ok()?);
            }
        }
        Some(map)
    }
}

/// The oracle, written from the W3C Trace Context text ("traceparent Header Field
/// Values", "Versioning of traceparent") rather than from the library's code:
/// `Ok(None)` for an absent (empty) header, `Ok(Some((trace id, parent id, sampled)))`
/// for a valid one, else the reason it is rejected for.
fn oracle(raw: &[u8]) -> Result<Option<(u128, u64, bool)>, Rejection> {
    let Ok(text) = std::str::from_utf8(raw) else {
        // Optional white space is ASCII: trimming first or last gives the same answer.
        let trimmed: &[u8] = raw.trim_ascii();
        if trimmed.is_empty() {
            return Ok(None);
        }
        return Err(Rejection::NonUtf8);
    };
    let text = text.trim_matches([' ', '\t']);
    if text.is_empty() {
        return Ok(None);
    }
    let lower_hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let parts: Vec<&str> = text.split('-').collect();
    // The version prefix: two lowercase hex digits and a dash, in a header of at least
    // the 55 characters of version 00.
    if text.len() < 55 || parts.len() < 2 || !lower_hex(parts[0], 2) {
        return Err(Rejection::TraceparentMalformed);
    }
    if parts[0] == "ff" {
        return Err(Rejection::TraceparentVersion);
    }
    // Version 00 is exactly four fields; a later version has at least those four, the
    // rest being its own business.
    let fields_ok = parts.len() >= 4
        && (parts[0] != "00" || parts.len() == 4)
        && lower_hex(parts[1], 32)
        && lower_hex(parts[2], 16)
        && lower_hex(parts[3], 2);
    if !fields_ok {
        return Err(Rejection::TraceparentMalformed);
    }
    let trace = u128::from_str_radix(parts[1], 16).unwrap();
    let parent = u64::from_str_radix(parts[2], 16).unwrap();
    if trace == 0 {
        return Err(Rejection::TraceIdZero);
    }
    if parent == 0 {
        return Err(Rejection::SpanIdZero);
    }
    let sampled = u8::from_str_radix(parts[3], 16).unwrap() & 1 == 1;
    Ok(Some((trace, parent, sampled)))
}

/// The checks on one input; returns how many `traceparent` rejections (by reason)
/// it caused.
fn check(input: &Input) -> Result<Vec<Rejection>, TestCaseError> {
    let headers = input.kafka();
    let cx = extract_from(&headers);
    let sc = cx.span().span_context().clone();
    let expected = input.traceparent.as_deref().map(oracle).unwrap_or(Ok(None));

    match expected {
        Ok(Some((trace, parent, sampled))) => {
            prop_assert!(sc.is_valid() && sc.is_remote(), "{input:?}");
            prop_assert_eq!(u128::from_be_bytes(sc.trace_id().to_bytes()), trace);
            prop_assert_eq!(u64::from_be_bytes(sc.span_id().to_bytes()), parent);
            prop_assert_eq!(sc.is_sampled(), sampled);
        }
        _ => {
            prop_assert!(!sc.is_valid(), "a context from invalid input: {input:?}");
            prop_assert!(sc.trace_state().header().is_empty());
        }
    }
    prop_assert!(sc.trace_state().header().len() <= MAX_TRACESTATE_BYTES);

    let baggage = cx.baggage();
    prop_assert!(
        baggage.len() <= MAX_BAGGAGE_ENTRIES,
        "{} entries",
        baggage.len()
    );
    let bytes: usize = baggage
        .iter()
        .map(|(k, (v, m))| k.as_str().len() + v.as_str().len() + m.as_str().len())
        .sum();
    prop_assert!(bytes <= MAX_BAGGAGE_BYTES, "{bytes} bytes of baggage");
    if let Some(raw) = &input.baggage
        && (raw.trim_ascii().len() > MAX_BAGGAGE_BYTES || std::str::from_utf8(raw).is_err())
    {
        prop_assert!(
            baggage.is_empty(),
            "oversized or non-UTF-8 baggage was read"
        );
    }

    let mut extractions = 2;
    prop_assert_eq!(message_link(&headers, 0, None).is_some(), sc.is_valid());
    if let Some(map) = input.text_map() {
        extractions += 1;
        let through_extractor = extract(&map);
        let other = through_extractor.span().span_context().clone();
        prop_assert_eq!(other, sc.clone());
        let mut a: Vec<_> = through_extractor
            .baggage()
            .iter()
            .map(|(k, (v, _))| (k.to_string(), v.to_string()))
            .collect();
        let mut b: Vec<_> = baggage
            .iter()
            .map(|(k, (v, _))| (k.to_string(), v.to_string()))
            .collect();
        a.sort();
        b.sort();
        prop_assert_eq!(a, b);
    }
    Ok(match expected {
        Err(reason) => vec![reason; extractions],
        Ok(_) => Vec::new(),
    })
}

#[test]
#[ignore = "measures the generator alone"]
fn generator_speed() {
    use proptest::strategy::ValueTree;
    let mut runner = TestRunner::default();
    for (name, strategy) in [
        ("traceparent", traceparent()),
        ("tracestate", tracestate()),
        ("baggage", baggage()),
    ] {
        let started = Instant::now();
        for _ in 0..1000 {
            std::hint::black_box(strategy.new_tree(&mut runner).unwrap().current());
        }
        println!("{name}: {:?} per value", started.elapsed() / 1000);
    }
}

#[test]
fn header_extractors_survive_garbage_and_only_trust_valid_input() {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let telemetry = TestTelemetry::install();
    let cases: u32 = std::env::var("BOOKING_OTEL_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let expected = std::cell::RefCell::new(HashMap::<Rejection, i64>::new());
    let valid = std::cell::Cell::new(0_u32);
    let started = Instant::now();
    let result = runner.run(&input(), |input| {
        let rejections = check(&input)?;
        if input
            .traceparent
            .as_deref()
            .is_some_and(|t| matches!(oracle(t), Ok(Some(_))))
        {
            valid.set(valid.get() + 1);
        }
        let mut expected = expected.borrow_mut();
        for reason in rejections {
            *expected.entry(reason).or_default() += 1;
        }
        Ok(())
    });
    let elapsed = started.elapsed();
    if let Err(failure) = result {
        panic!("{failure}");
    }
    println!(
        "propagation fuzz: {cases} cases ({} with a valid traceparent) in {:.2?}: {:.0} cases/s ({})",
        valid.get(),
        elapsed,
        f64::from(cases) / elapsed.as_secs_f64(),
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        },
    );
    assert!(
        valid.get() > cases / 20,
        "the generator reaches the valid path"
    );

    // Every rejected traceparent was counted, once per extraction, under its reason.
    let expected = expected.into_inner();
    for reason in [
        Rejection::TraceparentMalformed,
        Rejection::TraceparentVersion,
        Rejection::TraceIdZero,
        Rejection::SpanIdZero,
    ] {
        let counted = telemetry.counter_sum(
            metric::PROPAGATION_REJECTED_HEADERS,
            &[KeyValue::new(
                attribute::PROPAGATION_REASON,
                reason.as_str(),
            )],
        );
        let want = expected.get(&reason).copied().unwrap_or_default();
        assert_eq!(counted, want, "{reason}");
        assert!(want > 0, "the generator reaches {reason}");
    }
    let non_utf8 = telemetry.counter_sum(
        metric::PROPAGATION_REJECTED_HEADERS,
        &[KeyValue::new(
            attribute::PROPAGATION_REASON,
            Rejection::NonUtf8.as_str(),
        )],
    );
    assert!(
        non_utf8
            >= expected
                .get(&Rejection::NonUtf8)
                .copied()
                .unwrap_or_default()
    );
}
