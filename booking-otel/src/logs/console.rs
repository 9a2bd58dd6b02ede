//! The console form of log records: one readable line per record on stdout.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::logs::AnyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};

/// Writes each log record as one line to stdout:
///
/// ```text
/// 2026-11-30T06:13:02.123Z  WARN booking::payment: card declined for **** **** **** 1111 attempt=2 trace_id=4bf9… span_id=00f0…
/// ```
///
/// (time in UTC, severity, target, body, attributes, then the trace and span ids when
/// the record has them). What [`setup`](crate::setup) uses for logs without an OTLP
/// endpoint; behind the redaction exporter like every log exporter it installs.
#[derive(Debug, Default)]
pub struct ConsoleLogExporter {
    _private: (),
}

impl LogExporter for ConsoleLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let mut out = String::new();
        for (record, _scope) in batch.iter() {
            write_line(&mut out, record);
        }
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| opentelemetry_sdk::error::OTelSdkError::InternalFailure(e.to_string()))
    }
}

/// One record as a line (with its newline).
pub(crate) fn write_line(out: &mut String, record: &SdkLogRecord) {
    let time = record
        .timestamp()
        .or_else(|| record.observed_timestamp())
        .unwrap_or_else(SystemTime::now);
    write_time(out, time);
    let severity = record
        .severity_text()
        .map(str::to_owned)
        .or_else(|| record.severity_number().map(|s| s.name().to_owned()))
        .unwrap_or_else(|| "-".to_owned());
    let _ = write!(out, " {severity:>5}");
    if let Some(target) = record.target() {
        let _ = write!(out, " {target}:");
    }
    if let Some(body) = record.body() {
        out.push(' ');
        write_value(out, body);
    }
    for (key, value) in record.attributes_iter() {
        let _ = write!(out, " {key}=");
        write_value(out, value);
    }
    if let Some(cx) = record.trace_context() {
        let _ = write!(out, " trace_id={} span_id={}", cx.trace_id, cx.span_id);
    }
    out.push('\n');
}

fn write_value(out: &mut String, value: &AnyValue) {
    match value {
        AnyValue::String(s) => out.push_str(s.as_str()),
        AnyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        AnyValue::Double(f) => {
            let _ = write!(out, "{f}");
        }
        AnyValue::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        AnyValue::Bytes(bytes) => out.push_str(&String::from_utf8_lossy(bytes)),
        AnyValue::ListAny(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        AnyValue::Map(map) => {
            out.push('{');
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{key}: ");
                write_value(out, item);
            }
            out.push('}');
        }
        other => {
            let _ = write!(out, "{other:?}");
        }
    }
}

/// RFC 3339 in UTC with milliseconds, without a date library.
fn write_time(out: &mut String, time: SystemTime) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:03}Z",
        since.subsec_millis()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::logs::{LogRecord as _, Severity};
    use std::time::Duration;

    #[test]
    fn a_record_is_one_readable_line() {
        let mut record = crate::logs::blank_record();
        record.set_timestamp(UNIX_EPOCH + Duration::from_millis(1_795_000_000_123));
        record.set_severity_number(Severity::Warn);
        record.set_severity_text("WARN");
        record.set_target("booking::payment");
        record.set_body("card declined".into());
        record.add_attribute("attempt", 2);
        record.set_trace_context(
            opentelemetry::TraceId::from(1u128),
            opentelemetry::SpanId::from(2u64),
            None,
        );
        let mut line = String::new();
        write_line(&mut line, &record);
        assert_eq!(
            line,
            "2026-11-18T11:06:40.123Z  WARN booking::payment: card declined attempt=2 \
             trace_id=00000000000000000000000000000001 span_id=0000000000000002\n"
        );
    }
}
