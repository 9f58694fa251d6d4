//! Prometheus metrics at `/metrics`: connections, sessions, rooms, messages relayed,
//! event-log commits, reconnections and rejected inputs by reason.
//!
//! Counters go through the `metrics` facade; the recorder is installed once per process
//! (tests run many servers in one process and share it).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::hub::Hub;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder if nobody has; returns the handle that renders the metrics.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

pub fn connection_opened() {
    metrics::gauge!("uncover_connections").increment(1.0);
}

pub fn connection_closed() {
    metrics::gauge!("uncover_connections").decrement(1.0);
}

/// Counts a chat line relayed. The counter's handle is looked up once: the `counter!`
/// macro looks the name up in the recorder's registry on every call (about 950
/// instructions, on the path of every line). The recorder is installed first, so the
/// handle is never a no-op one taken before it.
pub fn chat_relayed() {
    static RELAYED: OnceLock<metrics::Counter> = OnceLock::new();
    RELAYED
        .get_or_init(|| {
            install();
            metrics::counter!("uncover_messages_relayed_total")
        })
        .increment(1);
}

pub fn reconnected() {
    metrics::counter!("uncover_reconnections_total").increment(1);
}

pub fn slow_reader_dropped() {
    metrics::counter!("uncover_slow_readers_dropped_total").increment(1);
}

/// A client message refused, by the error code it got.
pub fn rejected(reason: &'static str) {
    metrics::counter!("uncover_rejected_inputs_total", "reason" => reason).increment(1);
}

/// The metrics as Prometheus text, with gauges read from the hub at scrape time.
pub fn render(hub: &Hub) -> String {
    let Some(handle) = install() else {
        return String::new();
    };
    metrics::gauge!("uncover_sessions").set(hub.session_count() as f64);
    metrics::gauge!("uncover_rooms").set(hub.room_count() as f64);
    let stats = hub.store().stats();
    metrics::gauge!("uncover_event_log_commits").set(stats.commits as f64);
    metrics::gauge!("uncover_event_log_events").set(stats.events as f64);
    metrics::gauge!("uncover_event_log_commit_seconds_total")
        .set(stats.commit_micros_total as f64 / 1e6);
    metrics::gauge!("uncover_event_log_last_commit_seconds")
        .set(stats.last_commit_micros as f64 / 1e6);
    metrics::gauge!("uncover_event_log_queued").set(stats.queued as f64);
    metrics::gauge!("uncover_event_log_failed_writes").set(stats.failed_writes as f64);
    handle.render()
}
