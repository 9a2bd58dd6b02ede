//! The pure part of the console view: finished spans in, a waterfall as text out.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

use crate::conventions::{attribute, event, span as span_name, standard};

/// The width used when `COLUMNS` is not set (or not a number).
pub const DEFAULT_WIDTH: usize = 100;

/// The narrowest layout: a smaller width is rendered as this one.
pub const MIN_WIDTH: usize = 40;

/// The attributes shown after a span's duration when there is room, in this order
/// (besides `error.type` and `booking.rejection.type`, which are always shown first).
///
/// None of them is personal or secret (see [`conventions`](crate::conventions)): the
/// view is meant for a terminal someone may share. Whatever is shown was exported, so
/// behind a [`RedactingExporter`](crate::RedactingExporter) it is already masked.
pub const DEFAULT_ATTRIBUTES: &[&str] = &[
    attribute::BOOKING_RESERVATION_ID,
    attribute::BOOKING_STATUS,
    attribute::PAYMENT_STATUS,
    attribute::PAYMENT_CURRENCY,
    attribute::PAYMENT_CARD_BRAND,
    attribute::PAYMENT_CARD_LAST_FOUR,
    attribute::PAYMENT_DECLINE_REASON,
    attribute::BOOKING_CONTENTION_REASON,
];

/// The widest bar, whatever the width.
const MAX_BAR: usize = 80;
/// The widest bar when some row has details to show: wide terminals give the rest to
/// the details.
const MAX_BAR_WITH_DETAILS: usize = 50;
/// The narrowest bar, whatever the width.
const MIN_BAR: usize = 4;
/// Below this room for bar and details together, the bar takes it all.
const DETAILS_ROOM: usize = 40;
/// The longest attribute value shown, in characters.
const MAX_VALUE_CHARS: usize = 40;
/// Tree prefixes longer than this (very deep traces) keep only their end.
const MAX_PREFIX_CHARS: usize = 90;

/// How a waterfall (and the metrics table) is laid out: the terminal width, whether to
/// colour it, and which attributes to show.
///
/// ```
/// use booking_otel::console::RenderOptions;
///
/// let options = RenderOptions::default().width(60).colour(false);
/// assert_eq!(options.get_width(), 60);
/// // What the console exporters use: COLUMNS, NO_COLOR and whether stdout is a terminal.
/// let detected = RenderOptions::detect_from(|name| (name == "NO_COLOR").then(|| "1".into()), true);
/// assert!(!detected.get_colour());
/// assert_eq!(detected.get_width(), 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    width: usize,
    colour: bool,
    attributes: Vec<Cow<'static, str>>,
}

impl Default for RenderOptions {
    /// [`DEFAULT_WIDTH`] columns, no colour, [`DEFAULT_ATTRIBUTES`].
    fn default() -> Self {
        RenderOptions {
            width: DEFAULT_WIDTH,
            colour: false,
            attributes: DEFAULT_ATTRIBUTES
                .iter()
                .map(|k| Cow::Borrowed(*k))
                .collect(),
        }
    }
}

impl RenderOptions {
    /// The options for stdout: width from `COLUMNS`, else [`DEFAULT_WIDTH`]; colour
    /// only when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn detect() -> Self {
        use std::io::IsTerminal as _;
        Self::detect_from(
            |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
            std::io::stdout().is_terminal(),
        )
    }

    /// [`detect`](Self::detect) with the environment read through `var` and the
    /// terminal check given, for tests and for writers other than stdout.
    pub fn detect_from(var: impl Fn(&str) -> Option<String>, is_terminal: bool) -> Self {
        let width = var("COLUMNS")
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|w| *w > 0)
            .unwrap_or(DEFAULT_WIDTH);
        // https://no-color.org: any non-empty value turns colour off.
        let no_color = var("NO_COLOR").is_some_and(|v| !v.is_empty());
        RenderOptions::default()
            .width(width)
            .colour(is_terminal && !no_color)
    }

    /// The terminal width in columns (at least [`MIN_WIDTH`] is used).
    pub fn width(mut self, columns: usize) -> Self {
        self.width = columns;
        self
    }

    /// Whether to colour the output with ANSI escape codes.
    pub fn colour(mut self, enabled: bool) -> Self {
        self.colour = enabled;
        self
    }

    /// The attribute keys shown after each span's duration, in order, instead of
    /// [`DEFAULT_ATTRIBUTES`]. Show only keys that never carry a secret.
    pub fn attributes<K: Into<Cow<'static, str>>>(
        mut self,
        keys: impl IntoIterator<Item = K>,
    ) -> Self {
        self.attributes = keys.into_iter().map(Into::into).collect();
        self
    }

    /// The width in columns.
    pub fn get_width(&self) -> usize {
        self.width
    }

    /// Whether the output is coloured.
    pub fn get_colour(&self) -> bool {
        self.colour
    }

    /// The attribute keys shown.
    pub fn get_attributes(&self) -> &[Cow<'static, str>] {
        &self.attributes
    }

    pub(crate) fn effective_width(&self) -> usize {
        self.width.max(MIN_WIDTH)
    }
}

/// Renders the finished spans of one trace as a waterfall, one line per span, each line
/// at most [`width`](RenderOptions::width) columns (but for very deep trees), ending in
/// a newline. See the [module docs](super) for the layout.
///
/// Spans of other traces in `spans` are rendered after it, each as its own waterfall.
/// Never panics, whatever the spans (cycles, duplicate ids, clocks going backwards).
///
/// ```
/// use booking_otel::console::{RenderOptions, render_trace};
///
/// let spans: Vec<opentelemetry_sdk::trace::SpanData> = Vec::new();
/// assert_eq!(render_trace(&spans, &RenderOptions::default()), "");
/// ```
pub fn render_trace(spans: &[SpanData], options: &RenderOptions) -> String {
    render_with_note(spans, options, None)
}

/// [`render_trace`], with a note for the header of a trace rendered without its root.
pub(crate) fn render_with_note(
    spans: &[SpanData],
    options: &RenderOptions,
    partial_note: Option<&str>,
) -> String {
    let mut order: Vec<TraceId> = Vec::new();
    let mut by_trace: HashMap<TraceId, Vec<&SpanData>> = HashMap::new();
    for span in spans {
        let id = span.span_context.trace_id();
        by_trace
            .entry(id)
            .or_insert_with(|| {
                order.push(id);
                Vec::new()
            })
            .push(span);
    }
    let mut out = String::new();
    for (n, id) in order.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        if let Some(spans) = by_trace.remove(id) {
            Trace::new(spans, options, partial_note).render(&mut out);
        }
    }
    out
}

/// How a span ended, as the view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Error,
    Rejected,
}

fn attribute_value<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn verdict(span: &SpanData) -> Verdict {
    if matches!(span.status, Status::Error { .. }) {
        Verdict::Error
    } else if attribute_value(span, attribute::BOOKING_REJECTION_TYPE).is_some()
        || attribute_value(span, attribute::BOOKING_OUTCOME)
            .is_some_and(|v| v.as_str() == "rejected")
    {
        Verdict::Rejected
    } else {
        Verdict::Ok
    }
}

fn is_rollback(span: &SpanData) -> bool {
    span.name.starts_with(span_name::ROLLBACK_PREFIX)
        || attribute_value(span, attribute::BOOKING_ROLLBACK) == Some(&Value::Bool(true))
}

fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}

fn kind_suffix(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => " (client)",
        SpanKind::Server => " (server)",
        SpanKind::Producer => " (producer)",
        SpanKind::Consumer => " (consumer)",
        SpanKind::Internal => "",
    }
}

/// Text from a span, with control characters (newlines, escape codes) replaced, so that
/// nothing exported can break a line or colour a terminal.
fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(
            text.chars()
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if chars(text) <= max {
        return Cow::Borrowed(text);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut kept: String = text.chars().take(max - 1).collect();
    kept.push('…');
    Cow::Owned(kept)
}

/// The last `max` characters of `text`, starting with `…` when cut.
fn cut_front(text: &str, max: usize) -> Cow<'_, str> {
    let n = chars(text);
    if n <= max {
        return Cow::Borrowed(text);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut kept = String::from("…");
    kept.extend(text.chars().skip(n - (max - 1)));
    Cow::Owned(kept)
}

fn pad_left(out: &mut String, text: &str, width: usize) {
    for _ in chars(text)..width {
        out.push(' ');
    }
    out.push_str(text);
}

fn short_trace_id(id: TraceId) -> String {
    let mut hex = id.to_string();
    hex.truncate(8);
    hex.push('…');
    hex
}

fn short_span_id(id: SpanId) -> String {
    let mut hex = id.to_string();
    hex.truncate(8);
    hex.push('…');
    hex
}

/// A duration in human units: `850 ns`, `412 µs`, `6.2 ms`, `18 ms`, `1.25 s`, `12.5 s`,
/// `2m05s`.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos < 1_000 {
        format!("{nanos} ns")
    } else if nanos < 999_500 {
        format!("{} µs", (nanos + 500) / 1_000)
    } else if nanos < 9_950_000 {
        trim_zero(format!("{:.1}", nanos as f64 / 1e6)) + " ms"
    } else if nanos < 999_500_000 {
        format!("{} ms", (nanos + 500_000) / 1_000_000)
    } else if nanos < 9_995_000_000 {
        trim_zero(format!("{:.2}", nanos as f64 / 1e9)) + " s"
    } else if nanos < 59_950_000_000 {
        trim_zero(format!("{:.1}", nanos as f64 / 1e9)) + " s"
    } else {
        let secs = (nanos + 500_000_000) / 1_000_000_000;
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// `6.0` → `6`, `1.50` → `1.5`.
fn trim_zero(mut number: String) -> String {
    if number.contains('.') {
        while number.ends_with('0') {
            number.pop();
        }
        if number.ends_with('.') {
            number.pop();
        }
    }
    number
}

fn elapsed(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// ANSI styles, written only when colour is on.
#[derive(Clone, Copy)]
pub(crate) struct Paint(pub(crate) bool);

pub(crate) const RED: &str = "\x1b[31m";
pub(crate) const YELLOW: &str = "\x1b[33m";
pub(crate) const MAGENTA: &str = "\x1b[35m";
pub(crate) const CYAN: &str = "\x1b[36m";
pub(crate) const GREEN: &str = "\x1b[32m";
pub(crate) const BOLD: &str = "\x1b[1m";
pub(crate) const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl Paint {
    pub(crate) fn push(self, out: &mut String, style: &str, text: &str) {
        if self.0 && !text.is_empty() {
            out.push_str(style);
            out.push_str(text);
            out.push_str(RESET);
        } else {
            out.push_str(text);
        }
    }
}

/// One line of the waterfall below the header.
struct Row<'a> {
    span: &'a SpanData,
    /// Tree lines, e.g. `│  ├─ `; cut at the front when very deep.
    prefix: String,
    prefix_elided: bool,
    /// `┄ ` for a span whose parent is not in the trace.
    marker: &'static str,
    /// Said first in the details: a missing or remote parent.
    note: Option<String>,
}

struct Trace<'a> {
    spans: Vec<&'a SpanData>,
    options: &'a RenderOptions,
    partial_note: Option<&'a str>,
    paint: Paint,
    t0: SystemTime,
    total: Duration,
}

impl<'a> Trace<'a> {
    fn new(
        spans: Vec<&'a SpanData>,
        options: &'a RenderOptions,
        partial_note: Option<&'a str>,
    ) -> Self {
        let t0 = spans
            .iter()
            .map(|s| s.start_time)
            .min()
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let t1 = spans
            .iter()
            .map(|s| s.end_time.max(s.start_time))
            .max()
            .unwrap_or(t0);
        Trace {
            spans,
            options,
            partial_note,
            paint: Paint(options.colour),
            t0,
            total: elapsed(t0, t1),
        }
    }

    fn sort_key(&self, i: usize) -> (SystemTime, SystemTime, [u8; 8]) {
        let s = self.spans[i];
        (
            s.start_time,
            s.end_time,
            s.span_context.span_id().to_bytes(),
        )
    }

    fn render(&self, out: &mut String) {
        let n = self.spans.len();
        // The first span with each id is the one children hang from.
        let mut index: HashMap<SpanId, usize> = HashMap::with_capacity(n);
        for (i, s) in self.spans.iter().enumerate() {
            index.entry(s.span_context.span_id()).or_insert(i);
        }
        let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut tops: Vec<usize> = Vec::new();
        for (i, s) in self.spans.iter().enumerate() {
            // A remote parent that is in this trace too (a consumer of a message this
            // process produced) is a parent like any other.
            let parent = index.get(&s.parent_span_id).copied().filter(|p| *p != i);
            match parent {
                Some(p) => children.entry(p).or_default().push(i),
                None => tops.push(i),
            }
        }
        for kids in children.values_mut() {
            kids.sort_by_key(|i| self.sort_key(*i));
        }
        tops.sort_by_key(|i| self.sort_key(*i));

        let root = tops.iter().copied().find(|i| is_local_root(self.spans[*i]));
        let mut visited = vec![false; n];
        let mut rows: Vec<Row<'a>> = Vec::with_capacity(n);
        if let Some(root) = root {
            visited[root] = true;
            self.walk(root, &children, &mut visited, &mut rows);
        }
        for &top in &tops {
            if Some(top) == root {
                continue;
            }
            self.top_row(top, &children, &mut visited, &mut rows);
        }
        // Spans in a parent cycle are reachable from no top: each becomes one.
        while let Some(first) = (0..n)
            .filter(|i| !visited[*i])
            .min_by_key(|i| self.sort_key(*i))
        {
            self.top_row(first, &children, &mut visited, &mut rows);
        }

        let layout = Layout::new(self, &rows);
        self.header(out, root.map(|r| self.spans[r]));
        for row in &rows {
            self.row(out, row, &layout);
        }
    }

    /// A span rendered at the top level: a second local root, or a span whose parent is
    /// not in the trace (an orphan), and then its subtree.
    fn top_row(
        &self,
        i: usize,
        children: &HashMap<usize, Vec<usize>>,
        visited: &mut [bool],
        rows: &mut Vec<Row<'a>>,
    ) {
        visited[i] = true;
        let span = self.spans[i];
        let (marker, note) = if span.parent_span_is_remote {
            (
                "",
                Some(format!(
                    "remote parent {}",
                    short_span_id(span.parent_span_id)
                )),
            )
        } else if span.parent_span_id == SpanId::INVALID {
            ("", None)
        } else {
            (
                "┄ ",
                Some(format!(
                    "parent {} not received",
                    short_span_id(span.parent_span_id)
                )),
            )
        };
        rows.push(Row {
            span,
            prefix: String::new(),
            prefix_elided: false,
            marker,
            note,
        });
        self.walk(i, children, visited, rows);
    }

    /// Pushes the rows of `parent`'s descendants, depth first, children by start time.
    fn walk(
        &self,
        parent: usize,
        children: &HashMap<usize, Vec<usize>>,
        visited: &mut [bool],
        rows: &mut Vec<Row<'a>>,
    ) {
        // (span, continuation prefix of its parent, whether it is the last child).
        let mut stack: Vec<(usize, String, bool, bool)> = Vec::new();
        let push_kids = |stack: &mut Vec<(usize, String, bool, bool)>,
                         of: usize,
                         cont: String,
                         elided: bool,
                         visited: &[bool]| {
            let kids: Vec<usize> = children
                .get(&of)
                .map(|k| k.iter().copied().filter(|c| !visited[*c]).collect())
                .unwrap_or_default();
            let last = kids.len().saturating_sub(1);
            for (k, child) in kids.into_iter().enumerate().rev() {
                stack.push((child, cont.clone(), k == last, elided));
            }
        };
        push_kids(&mut stack, parent, String::new(), false, visited);
        while let Some((i, cont, last, elided)) = stack.pop() {
            if visited[i] {
                continue;
            }
            visited[i] = true;
            let prefix = format!("{cont}{}", if last { "└─ " } else { "├─ " });
            let mut child_cont = format!("{cont}{}", if last { "   " } else { "│  " });
            let mut child_elided = elided;
            if chars(&child_cont) > MAX_PREFIX_CHARS {
                child_cont = child_cont.chars().skip(3).collect();
                child_elided = true;
            }
            rows.push(Row {
                span: self.spans[i],
                prefix,
                prefix_elided: elided,
                marker: "",
                note: None,
            });
            push_kids(&mut stack, i, child_cont, child_elided, visited);
        }
    }

    fn cell(&self, at: SystemTime, bar: usize) -> usize {
        let total = self.total.as_nanos().max(1);
        let offset = elapsed(self.t0, at).as_nanos().min(total);
        (offset * bar as u128 / total) as usize
    }

    fn cell_end(&self, at: SystemTime, bar: usize) -> usize {
        let total = self.total.as_nanos().max(1);
        let offset = elapsed(self.t0, at).as_nanos().min(total);
        offset.saturating_mul(bar as u128).div_ceil(total) as usize
    }

    /// The first line: the root's name, the trace id, the root's duration and status;
    /// then, as room allows, notes (remote parent, failed spans below) and the root's
    /// attributes. A note that does not fit goes on a second line.
    fn header(&self, out: &mut String, root: Option<&SpanData>) {
        let width = self.options.effective_width();
        let paint = self.paint;
        let trace_id = self
            .spans
            .first()
            .map(|s| s.span_context.trace_id())
            .unwrap_or(TraceId::INVALID);
        let mut line = String::new();
        let used;
        let mut notes: Vec<(String, &str)> = Vec::new();
        let mut extras: Vec<String> = Vec::new();
        match root {
            Some(root) => {
                let duration = format_duration(elapsed(root.start_time, root.end_time));
                let (status, style, detail) = match verdict(root) {
                    Verdict::Error => ("ERROR", RED, error_type(root)),
                    Verdict::Rejected => ("REJECTED", YELLOW, rejection_type(root)),
                    Verdict::Ok => ("OK", GREEN, None),
                };
                let middle = format!("  trace {}  {duration}  ", short_trace_id(trace_id));
                // Shrink to the width: the kind goes first, then the detail is cut, then
                // the name.
                let fixed = chars(&middle) + chars(status);
                let name = clean(&root.name);
                let mut kind = kind_suffix(&root.span_kind);
                let detail = detail.map(|d| cut(&clean(&d), MAX_VALUE_CHARS).into_owned());
                let detail_len = detail.as_deref().map_or(0, |d| chars(d) + 1);
                if fixed + chars(&name) + chars(kind) + detail_len > width {
                    kind = "";
                }
                let room = width.saturating_sub(fixed + chars(&name));
                let detail = detail.and_then(|d| match room {
                    r if r > chars(&d) => Some(d),
                    r if r >= 8 => Some(cut(&d, r - 1).into_owned()),
                    _ => None,
                });
                let detail_len = detail.as_deref().map_or(0, |d| chars(d) + 1);
                let name = cut(&name, width.saturating_sub(fixed + detail_len).max(4));
                paint.push(&mut line, BOLD, &name);
                line.push_str(kind);
                line.push_str(&middle);
                paint.push(&mut line, style, status);
                if let Some(detail) = &detail {
                    line.push(' ');
                    paint.push(&mut line, style, detail);
                }
                used = chars(&name) + chars(kind) + fixed + detail_len;
                if root.parent_span_is_remote {
                    notes.push((
                        format!(
                            "(continues trace from remote parent {})",
                            short_span_id(root.parent_span_id)
                        ),
                        "",
                    ));
                }
                if verdict(root) != Verdict::Error {
                    let failed = self
                        .spans
                        .iter()
                        .filter(|s| matches!(s.status, Status::Error { .. }))
                        .count();
                    if failed > 0 {
                        let spans = if failed == 1 { "span" } else { "spans" };
                        notes.push((format!("({failed} {spans} with ERROR below)"), RED));
                    }
                }
                extras = self.details(root, false);
            }
            None => {
                let extent = format_duration(self.total);
                let head = format!("trace {}  {extent}  ", short_trace_id(trace_id));
                let note = format!(
                    "({})",
                    self.partial_note
                        .unwrap_or("partial: no local root span received")
                );
                let note = cut(&note, width.saturating_sub(chars(&head)));
                line.push_str(&head);
                paint.push(&mut line, YELLOW, &note);
                used = chars(&head) + chars(&note);
            }
        }
        let mut used = used;
        let mut second: Vec<(String, &str)> = Vec::new();
        for (note, style) in notes {
            if used + 2 + chars(&note) <= width && second.is_empty() {
                line.push_str("  ");
                paint.push(&mut line, style, &note);
                used += 2 + chars(&note);
            } else {
                second.push((note, style));
            }
        }
        if second.is_empty() {
            for item in extras {
                let room = width.saturating_sub(used + 2);
                if room < 8 {
                    break;
                }
                let shown = cut(&item, room);
                line.push_str("  ");
                paint.push(&mut line, DIM, &shown);
                used += 2 + chars(&shown);
                if shown.len() != item.len() {
                    break;
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if !second.is_empty() {
            let mut line = String::new();
            let mut used = 0;
            for (note, style) in second {
                let sep = if used == 0 { 0 } else { 2 };
                let room = width.saturating_sub(used + sep);
                if room < 8 {
                    break;
                }
                let shown = cut(&note, room);
                line.push_str(&"  "[..sep]);
                paint.push(&mut line, style, &shown);
                used += sep + chars(&shown);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }

    /// What follows the duration: error or rejection type (not for the header, which
    /// says it with the status), events, then the chosen attributes.
    fn details(&self, span: &SpanData, with_outcome: bool) -> Vec<String> {
        let mut items = Vec::new();
        let verdict = verdict(span);
        if with_outcome {
            match verdict {
                Verdict::Error => {
                    if let Some(t) = error_type(span) {
                        items.push(format!(
                            "{}={}",
                            standard::ERROR_TYPE,
                            cut(&clean(&t), MAX_VALUE_CHARS)
                        ));
                    }
                }
                Verdict::Rejected => {
                    if let Some(t) = rejection_type(span) {
                        items.push(format!(
                            "{}={}",
                            attribute::BOOKING_REJECTION_TYPE,
                            cut(&clean(&t), MAX_VALUE_CHARS)
                        ));
                    }
                }
                Verdict::Ok => {}
            }
        }
        let mut names: Vec<(String, usize)> = Vec::new();
        for e in shown_events(span, verdict) {
            let name = cut(&clean(&e.name), MAX_VALUE_CHARS).into_owned();
            match names.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => names.push((name, 1)),
            }
        }
        for (name, count) in names {
            if count > 1 {
                items.push(format!("◆ {name} ×{count}"));
            } else {
                items.push(format!("◆ {name}"));
            }
        }
        for key in &self.options.attributes {
            if let Some(value) = attribute_value(span, key) {
                let value = value.as_str();
                items.push(format!(
                    "{}={}",
                    clean(key),
                    cut(&clean(&value), MAX_VALUE_CHARS)
                ));
            }
        }
        items
    }

    fn row(&self, out: &mut String, row: &Row<'_>, layout: &Layout) {
        let paint = self.paint;
        let span = row.span;
        let verdict = verdict(span);
        let rollback = is_rollback(span);
        let mut line = String::new();

        // Label: tree prefix, marker, name (cut), kind.
        let label = layout.label(row);
        line.push_str(&label);
        for _ in chars(&label)..layout.label {
            line.push(' ');
        }
        line.push(' ');

        // Bar, with event marks.
        let b = layout.bar;
        let start = self.cell(span.start_time, b).min(b - 1);
        let end = self
            .cell_end(span.end_time.max(span.start_time), b)
            .clamp(start + 1, b);
        let mut cells: Vec<char> = vec![' '; b];
        for c in &mut cells[start..end] {
            *c = '█';
        }
        for e in shown_events(span, verdict) {
            let at = self.cell(e.timestamp, b).clamp(start, end - 1);
            cells[at] = '◆';
        }
        let bar_style = match verdict {
            Verdict::Error => RED,
            Verdict::Rejected => YELLOW,
            Verdict::Ok if rollback => MAGENTA,
            Verdict::Ok => CYAN,
        };
        let before: String = cells[..start].iter().collect();
        let bar: String = cells[start..end].iter().collect();
        let after: String = cells[end..].iter().collect();
        line.push_str(&before);
        paint.push(&mut line, bar_style, &bar);
        line.push_str(&after);
        line.push(' ');

        if layout.flag {
            if rollback {
                paint.push(&mut line, MAGENTA, "↺");
            } else {
                line.push(' ');
            }
            line.push(' ');
        }
        if layout.status > 0 {
            let (text, style) = match verdict {
                Verdict::Error => ("ERROR", RED),
                Verdict::Rejected => ("REJECTED", YELLOW),
                Verdict::Ok => ("", ""),
            };
            paint.push(&mut line, style, text);
            for _ in chars(text)..layout.status {
                line.push(' ');
            }
            line.push(' ');
        }
        let duration = format_duration(elapsed(span.start_time, span.end_time));
        let mut plain_duration = String::new();
        pad_left(&mut plain_duration, &duration, layout.duration);
        line.push_str(&plain_duration);

        // Details, as many whole items as fit; the last one cut when enough room is left.
        let mut room = layout.details;
        let mut items: Vec<(String, &str)> = Vec::new();
        if let Some(note) = &row.note {
            items.push((note.clone(), YELLOW));
        }
        for item in self.details(span, true) {
            let style = if item.starts_with(standard::ERROR_TYPE) {
                RED
            } else if item.starts_with(attribute::BOOKING_REJECTION_TYPE) {
                YELLOW
            } else {
                DIM
            };
            items.push((item, style));
        }
        let mut first = true;
        for (item, style) in items {
            let sep = if first { 2 } else { 1 };
            if room < sep + 6 {
                break;
            }
            let shown = cut(&item, room - sep);
            line.push_str(if first { "  " } else { " " });
            paint.push(&mut line, style, &shown);
            room -= sep + chars(&shown);
            first = false;
            if shown.len() != item.len() {
                break;
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn error_type(span: &SpanData) -> Option<String> {
    attribute_value(span, standard::ERROR_TYPE).map(|v| v.as_str().into_owned())
}

fn rejection_type(span: &SpanData) -> Option<String> {
    attribute_value(span, attribute::BOOKING_REJECTION_TYPE).map(|v| v.as_str().into_owned())
}

/// The events drawn on a span's bar: all of them, but for the one `exception` event of a
/// failed span and the one `booking.rejection` event of a rejected span, which ERROR
/// and REJECTED already say.
fn shown_events(
    span: &SpanData,
    verdict: Verdict,
) -> impl Iterator<Item = &opentelemetry::trace::Event> {
    let count = |name: &str| span.events.iter().filter(|e| e.name == name).count();
    let hide_exception = verdict == Verdict::Error && count(event::EXCEPTION) == 1;
    let hide_rejection = verdict == Verdict::Rejected && count(event::REJECTION) == 1;
    span.events.iter().filter(move |e| {
        !(hide_exception && e.name == event::EXCEPTION
            || hide_rejection && e.name == event::REJECTION)
    })
}

/// Column widths of one trace's rows.
struct Layout {
    label: usize,
    bar: usize,
    flag: bool,
    status: usize,
    duration: usize,
    details: usize,
}

impl Layout {
    fn new(trace: &Trace<'_>, rows: &[Row<'_>]) -> Self {
        let width = trace.options.effective_width();
        let natural = rows
            .iter()
            .map(|r| {
                chars(&r.prefix)
                    + usize::from(r.prefix_elided)
                    + chars(r.marker)
                    + chars(&clean(&r.span.name))
                    + chars(kind_suffix(&r.span.span_kind))
            })
            .max()
            .unwrap_or(0);
        let label = natural.min((width * 2 / 5).max(16));
        let flag = rows.iter().any(|r| is_rollback(r.span));
        let status = rows
            .iter()
            .map(|r| match verdict(r.span) {
                Verdict::Error => 5,
                Verdict::Rejected => 8,
                Verdict::Ok => 0,
            })
            .max()
            .unwrap_or(0);
        let duration = rows
            .iter()
            .map(|r| {
                chars(&format_duration(elapsed(
                    r.span.start_time,
                    r.span.end_time,
                )))
            })
            .max()
            .unwrap_or(0)
            .max(4);
        let tail =
            1 + if flag { 2 } else { 0 } + if status > 0 { status + 1 } else { 0 } + duration;
        let avail = width.saturating_sub(label + 1 + tail);
        // The details column's natural width: every item of the longest row.
        let wanted = rows
            .iter()
            .map(|r| {
                let items = trace.details(r.span, true);
                let note = r.note.as_deref().map_or(0, |n| chars(n) + 1);
                note + items.iter().map(|i| chars(i) + 1).sum::<usize>()
            })
            .max()
            .unwrap_or(0);
        let bar = if wanted == 0 {
            avail.min(MAX_BAR)
        } else if avail >= DETAILS_ROOM {
            // Details take what they need, up to three fifths of the room.
            avail
                .saturating_sub(wanted + 1)
                .max(avail * 2 / 5)
                .min(MAX_BAR_WITH_DETAILS)
        } else {
            avail
        }
        .max(MIN_BAR);
        let details = width.saturating_sub(label + 1 + bar + tail);
        Layout {
            label,
            bar,
            flag,
            status,
            duration,
            details,
        }
    }

    /// A row's label cut to the label column: the name is cut first, keeping the tree
    /// lines and the kind; very deep tree lines keep their end.
    fn label(&self, row: &Row<'_>) -> String {
        let name = clean(&row.span.name);
        let kind = kind_suffix(&row.span.span_kind);
        let mut prefix = if row.prefix_elided {
            format!("…{}", row.prefix)
        } else {
            row.prefix.clone()
        };
        if chars(&prefix) > self.label / 2 {
            prefix = cut_front(&prefix, self.label / 2).into_owned();
        }
        let fixed = chars(&prefix) + chars(row.marker);
        let full = chars(&name) + chars(kind);
        if fixed + full <= self.label {
            return format!("{prefix}{}{name}{kind}", row.marker);
        }
        let room = self.label.saturating_sub(fixed);
        if room >= chars(kind) + 6 {
            format!(
                "{prefix}{}{}{kind}",
                row.marker,
                cut(&name, room - chars(kind))
            )
        } else {
            format!("{prefix}{}{}", row.marker, cut(&name, room))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_human_units() {
        let cases = [
            (Duration::from_nanos(850), "850 ns"),
            (Duration::from_micros(412), "412 µs"),
            (Duration::from_micros(999_400), "999 ms"),
            (Duration::from_micros(6_000), "6 ms"),
            (Duration::from_micros(6_240), "6.2 ms"),
            (Duration::from_millis(18), "18 ms"),
            (Duration::from_millis(412), "412 ms"),
            (Duration::from_millis(1_250), "1.25 s"),
            (Duration::from_millis(12_500), "12.5 s"),
            (Duration::from_secs(125), "2m05s"),
        ];
        for (d, text) in cases {
            assert_eq!(format_duration(d), text, "{d:?}");
        }
    }

    #[test]
    fn cuts_end_in_an_ellipsis() {
        assert_eq!(cut("booking.process_payment", 10), "booking.p…");
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut_front("│  │  ├─ ", 4), "…├─ ");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("a\x1b[31mb\nc"), "a\u{FFFD}[31mb\u{FFFD}c");
    }

    #[test]
    fn colour_follows_no_color_and_the_terminal() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(RenderOptions::detect_from(env(&[]), true).get_colour());
        assert!(!RenderOptions::detect_from(env(&[]), false).get_colour());
        assert!(!RenderOptions::detect_from(env(&[("NO_COLOR", "1")]), true).get_colour());
        // An empty NO_COLOR does not count (no-color.org).
        assert!(RenderOptions::detect_from(env(&[("NO_COLOR", "")]), true).get_colour());
        assert_eq!(
            RenderOptions::detect_from(env(&[("COLUMNS", "60")]), true).get_width(),
            60
        );
        assert_eq!(
            RenderOptions::detect_from(env(&[("COLUMNS", "wide")]), true).get_width(),
            DEFAULT_WIDTH
        );
    }
}
