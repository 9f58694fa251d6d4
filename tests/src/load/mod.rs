//! Load tools for `make bench`: the load generator ([`generator`]), the bare
//! tokio-tungstenite relay it measures Uncover against ([`relay`]), and the server figures
//! read from /proc ([`procstat`]). The binaries in `src/bin/` are thin wrappers around these
//! so the smoke test (`tests/loadgen_smoke.rs`) exercises the same code the benchmark runs.

pub mod generator;
pub mod procstat;
pub mod relay;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read buffer per socket, client and bare relay alike: a chat frame is a few hundred bytes
/// and tungstenite's 128 KiB default would dominate memory at 10,000 connections.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Largest frame the load tools accept: chat frames are ~200 bytes, room briefs a few KiB.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The websocket settings every load-tool socket uses: small read buffer, and writes go
/// out on flush rather than waiting for a large buffer to fill.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

/// Raises this process's open-file limit to its hard limit; each connection is one file.
/// Returns the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(0),
    }
}

/// The runtime the load tools drive connections on: one thread, since the generator is
/// pinned to one core and one thread needs no locking between connection tasks beyond an
/// uncontended mutex. On failure, says why and returns `None`.
pub fn single_thread_runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            None
        }
    }
}
