//! `loadgen`: drives N chatting pairs against Uncover or a bare relay and prints relay
//! latency, delivery, loss, and the server's memory and CPU (see
//! `uncover_tests::load::generator`). Pin it to a core of its own with `taskset`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use uncover_tests::load::generator::{self, Config, Report, Target};
use uncover_tests::load::raise_open_file_limit;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    /// Uncover: pairs through the real protocol.
    Uncover,
    /// A bare relay (Rust or Node) pairing sockets in arrival order.
    Relay,
}

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for Uncover and the bare relays"
)]
struct Args {
    /// Websocket URL, e.g. ws://127.0.0.1:8080/ws for Uncover.
    #[arg(long)]
    url: String,
    /// What is listening at the URL.
    #[arg(long, value_enum, default_value = "uncover")]
    target: Kind,
    /// Pairs of connections.
    #[arg(long, default_value_t = 100)]
    pairs: usize,
    /// Messages per second each side of a pair sends.
    #[arg(long, default_value_t = 0.5)]
    rate: f64,
    /// Bytes per client frame.
    #[arg(long, default_value_t = 200)]
    message_bytes: usize,
    /// Seconds over which senders start.
    #[arg(long, default_value_t = 4.0)]
    ramp_secs: f64,
    /// Seconds of measured steady load.
    #[arg(long, default_value_t = 60.0)]
    steady_secs: f64,
    /// Longest wait, in seconds, for messages in flight after the last send.
    #[arg(long, default_value_t = 5.0)]
    drain_secs: f64,
    /// Connections (pairs, for Uncover) set up at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// The server's process id, for memory per connection and CPU per message.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Scenario id to ask Uncover for.
    #[arg(long)]
    scenario: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn print_text(r: &Report) {
    println!(
        "{:?}: {} pairs ({} connections) at {} msg/s per side, {} B frames; set up in {:.1} s",
        r.target, r.pairs, r.connections, r.rate_per_side, r.message_bytes, r.setup_secs
    );
    println!(
        "steady {:.0} s: sent {}, delivered {} ({:.0} msg/s), echoed to the sender {}, lost {}, reordered {}, misrouted {}",
        r.steady_secs, r.sent, r.delivered, r.delivered_per_sec, r.echoed, r.lost, r.reordered, r.misrouted
    );
    let l = r.latency_us;
    println!(
        "relay latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
        ms(l.p50),
        ms(l.p95),
        ms(l.p99),
        ms(l.max)
    );
    let g = r.send_lag_us;
    println!(
        "generator: CPU {:.0}% of a core, sender wake-up lag p99 {:.2} ms, max {:.2} ms",
        r.generator_cpu_percent,
        ms(g.p99),
        ms(g.max)
    );
    if let Some(s) = r.server {
        println!(
            "server: RSS idle {:.1} MiB, connected {:.1} MiB, end {:.1} MiB; per connection {:.1} KiB connected, {:.1} KiB at end",
            s.idle_rss_bytes as f64 / 1048576.0,
            s.connected_rss_bytes as f64 / 1048576.0,
            s.end_rss_bytes as f64 / 1048576.0,
            s.bytes_per_connection_connected as f64 / 1024.0,
            s.bytes_per_connection_end as f64 / 1024.0,
        );
        println!(
            "server: CPU {:.0}% of a core, {:.1} µs per relayed message ({:.1} of it in background threads), {} system calls and {:.2} context switches per message",
            s.cpu_percent,
            s.cpu_micros_per_message,
            s.background_cpu_micros_per_message,
            s.syscalls_per_message
                .map_or_else(|| "? (no perf)".to_string(), |n| format!("{n:.2}")),
            s.context_switches_per_message,
        );
    }
    if r.server_errors + r.disconnects + r.phase_changes > 0 {
        println!(
            "trouble: {} error frames, {} disconnects, {} phase changes; first error: {}",
            r.server_errors,
            r.disconnects,
            r.phase_changes,
            r.first_error.as_deref().unwrap_or("none")
        );
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let limit = raise_open_file_limit();
    let wanted = (args.pairs as u64) * 2 + 64;
    if limit > 0 && limit < wanted {
        eprintln!(
            "warning: the open-file limit is {limit}; {} connections need about {wanted}",
            args.pairs * 2
        );
    }
    let mut config = Config::new(
        args.url,
        match args.target {
            Kind::Uncover => Target::Uncover,
            Kind::Relay => Target::Relay,
        },
    );
    config.pairs = args.pairs;
    config.rate_per_side = args.rate;
    config.message_bytes = args.message_bytes;
    config.ramp = secs(args.ramp_secs);
    config.steady = secs(args.steady_secs);
    config.drain = secs(args.drain_secs);
    config.connect_concurrency = args.connect_concurrency;
    config.server_pid = args.server_pid;
    config.scenario = args.scenario;

    let Some(runtime) = uncover_tests::load::single_thread_runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(generator::run(&config)) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string(&report) {
                    Ok(j) => println!("{j}"),
                    Err(e) => {
                        eprintln!("cannot encode the report: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print_text(&report);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("load run failed: {e}");
            ExitCode::FAILURE
        }
    }
}
