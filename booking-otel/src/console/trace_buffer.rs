//! Groups finished spans by trace until the trace's local root ends: bounded in spans,
//! with a wait limit for roots that never end.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::SpanData;

/// How many rendered trace ids are remembered, to say that late spans belong to a
/// trace rendered earlier.
const REMEMBERED_TRACES: usize = 1_024;

/// Why a trace is rendered now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// Its local root ended: the trace is whole (as far as this process knows).
    RootEnded,
    /// The buffer was over its span limit: the oldest trace goes out partial.
    MemoryLimit,
    /// The root had not ended after the wait limit.
    Timeout,
    /// `force_flush` or `shutdown`.
    Flush,
}

/// A trace ready to render.
#[derive(Debug)]
pub(crate) struct Ready {
    pub(crate) spans: Vec<SpanData>,
    pub(crate) cause: Cause,
    /// Spans of this trace were rendered before (late spans, or a partial render).
    pub(crate) seen_before: bool,
}

impl Ready {
    /// The note for the header of a trace rendered without its root.
    pub(crate) fn partial_note(&self, limits: &TraceBuffer) -> Option<String> {
        let why = match self.cause {
            Cause::RootEnded => return None,
            Cause::MemoryLimit => format!(
                "partial: buffer over {} spans before its root ended",
                limits.max_spans
            ),
            Cause::Timeout => format!(
                "partial: root not ended after {}",
                super::waterfall::format_duration(limits.root_wait)
            ),
            Cause::Flush => "partial: root not ended at flush".to_owned(),
        };
        Some(if self.seen_before {
            format!("{why}; more spans of a trace shown earlier")
        } else {
            why
        })
    }
}

#[derive(Debug)]
struct Pending {
    spans: Vec<SpanData>,
    first_seen: Instant,
    /// Tells this buffering of the trace from an earlier one with the same id in `order`.
    generation: u64,
}

/// Spans waiting for their trace's local root, oldest trace first.
#[derive(Debug)]
pub(crate) struct TraceBuffer {
    pending: HashMap<TraceId, Pending>,
    /// Waiting traces, oldest first; entries whose generation no longer matches are stale.
    order: VecDeque<(TraceId, u64)>,
    next_generation: u64,
    spans: usize,
    pub(crate) max_spans: usize,
    pub(crate) root_wait: Duration,
    rendered: HashSet<TraceId>,
    rendered_order: VecDeque<TraceId>,
}

impl TraceBuffer {
    pub(crate) fn new(max_spans: usize, root_wait: Duration) -> Self {
        TraceBuffer {
            pending: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            spans: 0,
            max_spans,
            root_wait,
            rendered: HashSet::new(),
            rendered_order: VecDeque::new(),
        }
    }

    /// How many spans wait.
    pub(crate) fn len(&self) -> usize {
        self.spans
    }

    /// Adds a batch; returns the traces to render now, in the order they became ready:
    /// traces whose local root is in the batch, the oldest traces while the buffer is
    /// over its limit, and traces that waited longer than the wait limit.
    pub(crate) fn add(&mut self, batch: Vec<SpanData>, now: Instant) -> Vec<Ready> {
        let mut ready = Vec::new();
        for span in batch {
            let trace_id = span.span_context.trace_id();
            let pending = match self.pending.get_mut(&trace_id) {
                Some(pending) => pending,
                None => {
                    let generation = self.next_generation;
                    self.next_generation += 1;
                    self.order.push_back((trace_id, generation));
                    self.pending.entry(trace_id).or_insert(Pending {
                        spans: Vec::new(),
                        first_seen: now,
                        generation,
                    })
                }
            };
            // A remote parent already here (a consumer of a message this process
            // produced) makes the span a child, not the root the trace waits for.
            let is_local_root = span.parent_span_id == SpanId::INVALID
                || (span.parent_span_is_remote
                    && !pending
                        .spans
                        .iter()
                        .any(|s| s.span_context.span_id() == span.parent_span_id));
            pending.spans.push(span);
            self.spans += 1;
            if is_local_root {
                self.take(trace_id, Cause::RootEnded, &mut ready);
            }
            while self.spans > self.max_spans {
                let Some(oldest) = self.oldest() else { break };
                self.take(oldest, Cause::MemoryLimit, &mut ready);
            }
        }
        while let Some(oldest) = self.oldest() {
            let waited = self
                .pending
                .get(&oldest)
                .is_some_and(|p| now.saturating_duration_since(p.first_seen) >= self.root_wait);
            if !waited {
                break;
            }
            self.take(oldest, Cause::Timeout, &mut ready);
        }
        ready
    }

    /// Every waiting trace, oldest first (flush, shutdown).
    pub(crate) fn drain(&mut self) -> Vec<Ready> {
        let mut ready = Vec::new();
        while let Some(oldest) = self.oldest() {
            self.take(oldest, Cause::Flush, &mut ready);
        }
        ready
    }

    /// The oldest waiting trace, dropping stale entries of `order` on the way.
    fn oldest(&mut self) -> Option<TraceId> {
        while let Some(&(trace_id, generation)) = self.order.front() {
            if self
                .pending
                .get(&trace_id)
                .is_some_and(|p| p.generation == generation)
            {
                return Some(trace_id);
            }
            self.order.pop_front();
        }
        None
    }

    fn take(&mut self, trace_id: TraceId, cause: Cause, ready: &mut Vec<Ready>) {
        let Some(pending) = self.pending.remove(&trace_id) else {
            return;
        };
        self.spans -= pending.spans.len();
        let seen_before = !self.rendered.insert(trace_id);
        if !seen_before {
            self.rendered_order.push_back(trace_id);
            if self.rendered_order.len() > REMEMBERED_TRACES
                && let Some(forgotten) = self.rendered_order.pop_front()
            {
                self.rendered.remove(&forgotten);
            }
        }
        ready.push(Ready {
            spans: pending.spans,
            cause,
            seen_before,
        });
    }
}
