//! `bench`: the runner behind `make bench`. Starts each server (Uncover, the bare Rust
//! relay, the same relay echoing each frame to its sender, the Node `ws` relay, and the
//! Node relay committing each line to SQLite before echoing it) as a
//! fresh process pinned to one core, drives it with the
//! load generator in this process (pinned to another core by `tests/bench/run.sh`), and
//! prints one table: the realistic workloads at 100, 1,000 and 5,000 pairs, each
//! server's CPU time per message at fixed loads (interleaved rounds, see [`cost`]), then
//! each server's saturation point. Every run's full report goes to a JSON file beside it.

mod cost;

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;
use uncover_tests::load::generator::{self, Config, Report, ServerFigures, Target};
use uncover_tests::load::raise_open_file_limit;

/// Longest wait for a freshly started server to accept connections.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause after a server starts listening before its idle memory is read, so start-up
/// allocations have settled.
const SERVER_SETTLE: Duration = Duration::from_millis(500);
/// Pause between runs so the kernel finishes tearing down the last run's sockets.
const BETWEEN_RUNS: Duration = Duration::from_secs(1);
/// Bisection steps after the saturation ladder first fails: each halves the gap between
/// the last rate held and the first missed.
const BISECT_STEPS: usize = 2;
/// A run offers its load only if the generator sent at least this share of what the
/// schedule asked for; below it the generator, not the server, is the limit.
const OFFERED_SHARE: f64 = 0.95;
/// A server that misses a saturation step with its core less busy than this was not
/// out of CPU: queueing in the generator or the machine set its limit at least in part.
const SERVER_BOUND_CPU_PERCENT: f64 = 90.0;

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Benchmark Uncover against a bare tokio-tungstenite relay and a Node ws relay"
)]
struct Args {
    /// The long version: 60 s steady periods (also BENCH_FULL=1).
    #[arg(long, env = "BENCH_FULL", value_parser = clap::builder::BoolishValueParser::new(), default_value = "false")]
    full: bool,
    /// Servers to compare, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "uncover,bare,bare-echo,node,node-durable"
    )]
    servers: Vec<ServerKind>,
    /// Pair counts for the realistic workload.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000")]
    pairs: Vec<usize>,
    /// Messages per second per side in the realistic workload.
    #[arg(long, default_value_t = 0.5)]
    rate: f64,
    /// Steady seconds per realistic run (default 15, or 60 with --full).
    #[arg(long)]
    steady_secs: Option<f64>,
    /// Pairs for the saturation search. Uncover allows 20 messages a second per
    /// connection, so 2,000 pairs reach 80,000 messages a second within that limit.
    #[arg(long, default_value_t = 2000)]
    saturation_pairs: usize,
    /// Total relayed messages per second to try, in rising order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5000,10000,15000,20000,30000,40000,50000,60000,70000,80000"
    )]
    saturation_rates: Vec<f64>,
    /// Steady seconds per saturation step (default 8, or 20 with --full).
    #[arg(long)]
    saturation_steady_secs: Option<f64>,
    /// A server holds a rate while its p99 stays at or under this.
    #[arg(long, default_value_t = 50.0)]
    p99_limit_ms: f64,
    /// Skip the realistic workloads.
    #[arg(long)]
    no_realistic: bool,
    /// Skip the saturation search.
    #[arg(long)]
    no_saturation: bool,
    /// Total messages per second for the cost workload: every server at each, in turn.
    #[arg(long, value_delimiter = ',', default_value = "10000,20000")]
    cost_rates: Vec<f64>,
    /// Pairs for the cost workload. 1,000 pairs at 20,000 msg/s is 10 messages a second
    /// per side, within Uncover's per-connection limit.
    #[arg(long, default_value_t = 1000)]
    cost_pairs: usize,
    /// Interleaved rounds of the cost workload (default 3, or 5 with --full).
    #[arg(long)]
    cost_rounds: Option<usize>,
    /// Steady seconds per cost run (default 10, or 15 with --full).
    #[arg(long)]
    cost_steady_secs: Option<f64>,
    /// Skip the cost workload.
    #[arg(long)]
    no_cost: bool,
    /// Core the servers run on (the generator should be on another).
    #[arg(long, default_value_t = 0)]
    server_core: usize,
    /// The Uncover binary (default: beside this one).
    #[arg(long)]
    uncover_bin: Option<PathBuf>,
    /// Uncover's event log: `sqlite` (a fresh file per run, as deployed) or `memory`.
    #[arg(long, value_enum, default_value = "sqlite")]
    uncover_data: EventLog,
    /// Extra arguments for Uncover, e.g. --uncover-arg=--scenarios --uncover-arg=dir.
    #[arg(long, allow_hyphen_values = true)]
    uncover_arg: Vec<String>,
    /// The bare relay binary (default: beside this one).
    #[arg(long)]
    relay_bin: Option<PathBuf>,
    /// The Node relay script.
    #[arg(long)]
    node_relay: Option<PathBuf>,
    /// Folder for server logs and results.json.
    #[arg(long, default_value = "target/bench")]
    out_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EventLog {
    Sqlite,
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
enum ServerKind {
    Uncover,
    Bare,
    /// The bare relay sending each frame back to its sender too: the floor for a
    /// protocol that acknowledges every line, as Uncover's does.
    BareEcho,
    Node,
    /// Node's `ws` relay committing each line to SQLite (`better-sqlite3`, WAL,
    /// `synchronous = NORMAL` as Uncover) before echoing and forwarding it: what a team
    /// would write instead of Uncover's durable chat line.
    NodeDurable,
}

impl ServerKind {
    fn label(self) -> &'static str {
        match self {
            ServerKind::Uncover => "Uncover",
            ServerKind::Bare => "bare tokio-tungstenite",
            ServerKind::BareEcho => "bare, echoing to sender",
            ServerKind::Node => "Node ws",
            ServerKind::NodeDurable => "Node ws + better-sqlite3",
        }
    }
}

/// One finished run, as stored in results.json.
#[derive(Debug, Clone, Serialize)]
struct Run {
    workload: &'static str,
    server: ServerKind,
    report: Report,
    /// Whether the server held this load (saturation runs).
    held: bool,
    /// The generator could not send what the schedule asked for.
    generator_bound: bool,
}

/// A server's saturation point: the best rate held, and the first missed.
#[derive(Debug, Clone, Serialize)]
struct Saturation {
    server: ServerKind,
    held: Option<Run>,
    missed: Option<Run>,
}

struct Bench {
    args: Args,
    uncover_bin: PathBuf,
    relay_bin: PathBuf,
    node_relay: PathBuf,
    runtime: tokio::runtime::Runtime,
    runs: Vec<Run>,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn beside_this_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A server process this runner started; killed when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bench {
    fn start(&self, kind: ServerKind, port: u16) -> Result<Server, String> {
        let bind = format!("127.0.0.1:{port}");
        let (program, args): (PathBuf, Vec<String>) = match kind {
            ServerKind::Uncover => {
                let data = match self.args.uncover_data {
                    EventLog::Memory => ":memory:".to_string(),
                    EventLog::Sqlite => {
                        // A fresh log every run: a reused one would resume the last run's
                        // rounds at start-up.
                        let file = self.args.out_dir.join("uncover-bench.sqlite");
                        for suffix in ["", "-wal", "-shm"] {
                            let mut p = file.clone().into_os_string();
                            p.push(suffix);
                            let _ = std::fs::remove_file(p);
                        }
                        file.to_string_lossy().into_owned()
                    }
                };
                let mut a = vec![
                    "--bind".to_string(),
                    bind.clone(),
                    "--data".to_string(),
                    data,
                ];
                a.extend(self.args.uncover_arg.iter().cloned());
                (self.uncover_bin.clone(), a)
            }
            ServerKind::Bare => (
                self.relay_bin.clone(),
                vec!["--bind".to_string(), bind.clone()],
            ),
            ServerKind::BareEcho => (
                self.relay_bin.clone(),
                vec!["--bind".to_string(), bind.clone(), "--echo".to_string()],
            ),
            ServerKind::Node => (
                PathBuf::from("node"),
                vec![
                    self.node_relay.to_string_lossy().into_owned(),
                    port.to_string(),
                ],
            ),
            ServerKind::NodeDurable => (
                PathBuf::from("node"),
                vec![
                    self.node_relay.to_string_lossy().into_owned(),
                    port.to_string(),
                    // Committing each line here first; a fresh file every run (the script
                    // removes it first).
                    self.args
                        .out_dir
                        .join("node-durable.sqlite")
                        .to_string_lossy()
                        .into_owned(),
                ],
            ),
        };
        let mut cmd = if uncover_tests::load::procstat::has_taskset() {
            let mut c = Command::new("taskset");
            c.arg("-c")
                .arg(self.args.server_core.to_string())
                .arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let log_path = self
            .args
            .out_dir
            .join(format!("{kind:?}.log").to_lowercase());
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
        let child = cmd
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let mut server = Server { child };
        let addr: SocketAddr = bind
            .parse()
            .map_err(|e| format!("bad address {bind}: {e}"))?;
        let began = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "{} exited at start ({status}); see {}",
                    kind.label(),
                    log_path.display()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if began.elapsed() > SERVER_START_TIMEOUT {
                let _ = server.child.kill();
                return Err(format!(
                    "{} did not listen on {bind} within {SERVER_START_TIMEOUT:?}",
                    kind.label()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(SERVER_SETTLE);
        Ok(server)
    }

    /// One run against a fresh server process.
    fn run(
        &mut self,
        workload: &'static str,
        kind: ServerKind,
        pairs: usize,
        rate_per_side: f64,
        steady: Duration,
    ) -> Result<Run, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let server = self.start(kind, port)?;
        let (url, target) = match kind {
            ServerKind::Uncover => (format!("ws://127.0.0.1:{port}/ws"), Target::Uncover),
            ServerKind::Bare
            | ServerKind::BareEcho
            | ServerKind::Node
            | ServerKind::NodeDurable => (format!("ws://127.0.0.1:{port}/"), Target::Relay),
        };
        let mut config = Config::new(url, target);
        config.pairs = pairs;
        config.rate_per_side = rate_per_side;
        config.steady = steady;
        // Two send periods of ramp at least: every sender starts at its own moment.
        config.ramp = Duration::from_secs_f64((2.0 / rate_per_side).max(2.0));
        config.server_pid = Some(server.pid());
        let result = self.runtime.block_on(generator::run(&config));
        drop(server);
        std::thread::sleep(BETWEEN_RUNS);
        let report = result.map_err(|e| format!("{} run failed: {e}", kind.label()))?;
        let expected = rate_per_side * (pairs * 2) as f64 * steady.as_secs_f64();
        let generator_bound = (report.sent as f64) < expected * OFFERED_SHARE;
        let held = report.is_clean()
            && !generator_bound
            && report.latency_us.p99 as f64 <= self.args.p99_limit_ms * 1000.0;
        let run = Run {
            workload,
            server: kind,
            report,
            held,
            generator_bound,
        };
        eprintln!("  {}", one_line(&run));
        self.runs.push(run.clone());
        Ok(run)
    }

    /// The cost workload: `rounds` rounds, each running every server once at every cost
    /// rate. Returns the CPU per message of each clean run.
    fn cost(
        &mut self,
        servers: &[ServerKind],
        rounds: usize,
        steady: Duration,
    ) -> Vec<cost::Sample> {
        let pairs = self.args.cost_pairs;
        let mut samples = Vec::new();
        for round in 0..rounds {
            for rate in self.args.cost_rates.clone() {
                eprintln!("cost: round {} of {rounds} at {rate:.0} msg/s", round + 1);
                for &kind in servers {
                    let per_side = rate / (pairs * 2) as f64;
                    let run = match self.run("cost", kind, pairs, per_side, steady) {
                        Ok(run) => run,
                        Err(e) => {
                            eprintln!("  {e}");
                            continue;
                        }
                    };
                    // A run that lost messages or could not offer its load measured
                    // something else than the cost of relaying it.
                    if let (true, false, Some(s)) = (
                        run.report.is_clean(),
                        run.generator_bound,
                        run.report.server,
                    ) {
                        samples.push(cost::Sample {
                            round,
                            server: kind,
                            rate,
                            cpu_micros_per_message: s.cpu_micros_per_message,
                            background_cpu_micros_per_message: s.background_cpu_micros_per_message,
                            syscalls_per_message: s.syscalls_per_message,
                            context_switches_per_message: s.context_switches_per_message,
                        });
                    }
                }
            }
        }
        samples
    }

    fn saturation(&mut self, kind: ServerKind, steady: Duration) -> Result<Saturation, String> {
        let pairs = self.args.saturation_pairs;
        let per_side = |total: f64| total / (pairs * 2) as f64;
        let mut held: Option<Run> = None;
        let mut missed: Option<Run> = None;
        for total in self.args.saturation_rates.clone() {
            let run = self.run("saturation", kind, pairs, per_side(total), steady)?;
            if run.held {
                held = Some(run);
            } else {
                missed = Some(run);
                break;
            }
        }
        for _ in 0..BISECT_STEPS {
            let (Some(lo), Some(hi)) = (&held, &missed) else {
                break;
            };
            if hi.generator_bound {
                break; // past the generator's own limit: a midpoint would not tell more.
            }
            let mid = (lo.report.rate_per_side + hi.report.rate_per_side) / 2.0;
            let run = self.run("saturation", kind, pairs, mid, steady)?;
            if run.held {
                held = Some(run);
            } else {
                missed = Some(run);
            }
        }
        Ok(Saturation {
            server: kind,
            held,
            missed,
        })
    }
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn kib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0)
}

fn trouble(run: &Run) -> String {
    let r = &run.report;
    let mut notes = Vec::new();
    if r.disconnects > 0 {
        notes.push(format!("{} dropped", r.disconnects));
    }
    if r.server_errors > 0 {
        notes.push(format!("{} errors", r.server_errors));
    }
    if r.misrouted > 0 {
        notes.push(format!("{} misrouted", r.misrouted));
    }
    if r.phase_changes > 0 {
        notes.push(format!("{} phase changes", r.phase_changes));
    }
    if run.generator_bound {
        notes.push("generator-bound".into());
    }
    if notes.is_empty() {
        "ok".into()
    } else {
        notes.join(", ")
    }
}

fn one_line(run: &Run) -> String {
    let r = &run.report;
    format!(
        "{:<22} {:>5} pairs {:>7.2}/s/side: {:>8.0} msg/s  p50 {} p99 {} max {} ms  lost {}  server {:.0}%  gen {:.0}%  [{}]",
        run.server.label(),
        r.pairs,
        r.rate_per_side,
        r.delivered_per_sec,
        ms(r.latency_us.p50),
        ms(r.latency_us.p99),
        ms(r.latency_us.max),
        r.lost,
        r.server.map(|s| s.cpu_percent).unwrap_or(0.0),
        r.generator_cpu_percent,
        trouble(run)
    )
}

fn table_row(label: &str, run: &Run) -> String {
    let r = &run.report;
    let (mem, cpu, cpu_per_msg, kernel) = match r.server {
        Some(s) => (
            format!(
                "{} / {}",
                kib(s.bytes_per_connection_connected),
                kib(s.bytes_per_connection_end)
            ),
            format!("{:.0}", s.cpu_percent),
            format!("{:.1}", s.cpu_micros_per_message),
            format!(
                "{} / {:.2}",
                s.syscalls_per_message
                    .map_or_else(|| "?".to_string(), |n| format!("{n:.2}")),
                s.context_switches_per_message
            ),
        ),
        None => ("-".into(), "-".into(), "-".into(), "-".into()),
    };
    format!(
        "| {label} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} |",
        run.server.label(),
        r.pairs,
        r.rate_per_side,
        r.delivered_per_sec,
        ms(r.latency_us.p50),
        ms(r.latency_us.p95),
        ms(r.latency_us.p99),
        ms(r.latency_us.max),
        r.lost,
        r.reordered,
        mem,
        cpu,
        cpu_per_msg,
        kernel,
        r.generator_cpu_percent,
        ms(r.send_lag_us.p99),
        trouble(run),
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn summary(runs: &[Run], saturations: &[Saturation], biggest: Option<usize>) -> String {
    let mut out = String::new();
    if let Some(n) = biggest {
        if let Some(u) = runs.iter().find(|r| {
            r.workload == "realistic" && r.server == ServerKind::Uncover && r.report.pairs == n
        }) {
            let p99 = u.report.latency_us.p99 as f64 / 1000.0;
            let kib = |bytes: fn(&ServerFigures) -> u64| {
                u.report.server.as_ref().map(|s| bytes(s) as f64 / 1024.0)
            };
            let connected = kib(|s| s.bytes_per_connection_connected);
            let end = kib(|s| s.bytes_per_connection_end);
            let shown = |m: Option<f64>| m.map(|m| format!("{m:.1}")).unwrap_or_else(|| "?".into());
            // Both readings of the memory target: what a connection costs, and what it
            // costs once its room holds the whole run's conversation.
            let _ = writeln!(
                out,
                "Target, {n} pairs at {} msg/s per side on one core: p99 {p99:.2} ms (< 10 ms: {}); lost {} (zero: {}); memory per connection {} KiB connected (< 16 KiB: {}), {} KiB after {:.0} s of chat, conversation included (<= 16 KiB after 60 s: {}{})",
                u.report.rate_per_side,
                verdict(p99 < 10.0),
                u.report.lost,
                verdict(u.report.lost == 0 && u.report.is_clean()),
                shown(connected),
                verdict(connected.is_some_and(|m| m < 16.0)),
                shown(end),
                u.report.steady_secs,
                verdict(end.is_some_and(|m| m <= 16.0)),
                if u.report.steady_secs < 60.0 {
                    "; a shorter run than the target's, so BENCH_FULL=1 for the real figure"
                } else {
                    ""
                },
            );
        }
    }
    let held = |k: ServerKind| {
        saturations
            .iter()
            .find(|s| s.server == k)
            .and_then(|s| s.held.as_ref())
            .map(|r| r.report.delivered_per_sec)
    };
    if let Some(u) = held(ServerKind::Uncover) {
        if let Some(b) = held(ServerKind::Bare) {
            let _ = writeln!(
                out,
                "Reference (issue 16 replaced this target with CPU budgets), saturation vs bare relay: {u:.0} / {b:.0} msg/s = {:.0}% (>= 70%: {})",
                u / b * 100.0,
                verdict(u >= 0.7 * b)
            );
        }
        if let Some(n) = held(ServerKind::Node) {
            let _ = writeln!(
                out,
                "Reference (issue 16 replaced this target with CPU budgets), saturation vs Node ws relay: {u:.0} / {n:.0} msg/s = {:.2}x (>= 2x: {})",
                u / n,
                verdict(u >= 2.0 * n)
            );
        }
        if let Some(e) = held(ServerKind::BareEcho) {
            let _ = writeln!(
                out,
                "Reference, saturation vs the bare relay echoing to the sender (not a target): {u:.0} / {e:.0} msg/s = {:.0}%",
                u / e * 100.0
            );
        }
    }
    for s in saturations {
        let missed_with_cpu_to_spare = s.missed.as_ref().and_then(|m| {
            let cpu = m.report.server.as_ref()?.cpu_percent;
            (cpu < SERVER_BOUND_CPU_PERCENT).then_some((m, cpu))
        });
        if let Some((m, cpu)) = missed_with_cpu_to_spare {
            let _ = writeln!(
                out,
                "Note: {} missed {:.0} msg/s with its core {cpu:.0}% busy and the generator's {:.0}%: not out of CPU, so the generator and the machine set its figure as much as the server did.",
                s.server.label(),
                m.report.delivered_per_sec,
                m.report.generator_cpu_percent,
            );
        }
        if s.held.as_ref().is_some_and(|h| h.generator_bound)
            || s.missed.as_ref().is_some_and(|m| m.generator_bound)
            || (s.missed.is_none() && s.held.is_some())
        {
            let _ = writeln!(
                out,
                "Note: {} was still holding when the generator reached its limit; its figure is a lower bound.",
                s.server.label()
            );
        }
    }
    out
}

fn main() -> ExitCode {
    let args = Args::parse();
    let limit = raise_open_file_limit();
    if let Err(e) = std::fs::create_dir_all(&args.out_dir) {
        eprintln!("cannot create {}: {e}", args.out_dir.display());
        return ExitCode::FAILURE;
    }
    let Some(runtime) = uncover_tests::load::single_thread_runtime() else {
        return ExitCode::FAILURE;
    };
    let node_relay = args
        .node_relay
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/node-relay/relay.js"));

    let mut bench = Bench {
        uncover_bin: args
            .uncover_bin
            .clone()
            .unwrap_or_else(|| beside_this_binary("uncover")),
        relay_bin: args
            .relay_bin
            .clone()
            .unwrap_or_else(|| beside_this_binary("bare_relay")),
        node_relay,
        runtime,
        runs: Vec::new(),
        args,
    };
    let full = bench.args.full;
    let steady =
        Duration::from_secs_f64(
            bench
                .args
                .steady_secs
                .unwrap_or(if full { 60.0 } else { 15.0 }),
        );
    let saturation_steady =
        Duration::from_secs_f64(bench.args.saturation_steady_secs.unwrap_or(if full {
            20.0
        } else {
            8.0
        }));
    let cost_rounds = bench.args.cost_rounds.unwrap_or(if full { 5 } else { 3 });
    let cost_steady = Duration::from_secs_f64(bench.args.cost_steady_secs.unwrap_or(if full {
        15.0
    } else {
        10.0
    }));
    let load_at_start = load_average();
    eprintln!(
        "bench: servers on core {}, open-file limit {limit}, load average {load_at_start}{}",
        bench.args.server_core,
        if uncover_tests::load::procstat::has_taskset() {
            ""
        } else {
            " (taskset missing: runs are not pinned)"
        }
    );

    let servers = bench.args.servers.clone();
    let mut biggest = None;
    if !bench.args.no_realistic {
        for pairs in bench.args.pairs.clone() {
            biggest = biggest.max(Some(pairs));
            for &kind in &servers {
                eprintln!("realistic: {} with {pairs} pairs", kind.label());
                let rate = bench.args.rate;
                if let Err(e) = bench.run("realistic", kind, pairs, rate, steady) {
                    eprintln!("  {e}");
                }
            }
        }
    }
    let cost_samples = if bench.args.no_cost {
        Vec::new()
    } else {
        bench.cost(&servers, cost_rounds, cost_steady)
    };
    let mut saturations = Vec::new();
    if !bench.args.no_saturation {
        for &kind in &servers {
            eprintln!(
                "saturation: {} with {} pairs",
                kind.label(),
                bench.args.saturation_pairs
            );
            match bench.saturation(kind, saturation_steady) {
                Ok(s) => saturations.push(s),
                Err(e) => eprintln!("  {e}"),
            }
        }
    }
    let load_at_end = load_average();

    let mut rows = Vec::new();
    for run in bench.runs.iter().filter(|r| r.workload == "realistic") {
        rows.push(table_row("realistic", run));
    }
    for s in &saturations {
        match (&s.held, &s.missed) {
            (Some(run), _) => rows.push(table_row("saturation: max held", run)),
            (None, Some(run)) => rows.push(table_row("saturation: none held", run)),
            (None, None) => {}
        }
    }
    let mut ran = Vec::new();
    if !bench.args.no_realistic {
        ran.push(format!(
            "Steady {:.0} s per realistic run",
            steady.as_secs_f64()
        ));
    }
    if !bench.args.no_cost {
        ran.push(format!("{:.0} s per cost run", cost_steady.as_secs_f64()));
    }
    if !bench.args.no_saturation {
        ran.push(format!(
            "{:.0} s per saturation step; saturation = highest total rate with p99 <= {} ms and nothing lost or dropped ({} pairs)",
            saturation_steady.as_secs_f64(),
            bench.args.p99_limit_ms,
            bench.args.saturation_pairs,
        ));
    }
    println!();
    println!(
        "{}. Uncover's event log: {}. Load average {load_at_start} at start, {load_at_end} at end.",
        ran.join(", "),
        match bench.args.uncover_data {
            EventLog::Sqlite => "a fresh SQLite file per run",
            EventLog::Memory => "in memory",
        },
    );
    if !rows.is_empty() {
        println!();
        println!(
            "| workload | server | pairs | msg/s per side | delivered msg/s | p50 ms | p95 ms | p99 ms | max ms | lost | reordered | server KiB/conn (connected / end) | server CPU % | server CPU µs/msg | server syscalls / context switches per msg | generator CPU % | generator lag p99 ms | notes |"
        );
        println!("|{}", "---|".repeat(18));
        for row in rows {
            println!("{row}");
        }
    }
    println!();
    print!("{}", summary(&bench.runs, &saturations, biggest));
    print!(
        "{}",
        cost::summary(&cost_samples, &servers, bench.args.cost_pairs)
    );

    #[derive(Serialize)]
    struct Results<'a> {
        load_average_start: &'a str,
        load_average_end: &'a str,
        steady_secs: f64,
        saturation_steady_secs: f64,
        cost_steady_secs: f64,
        cost: &'a [cost::Sample],
        runs: &'a [Run],
        saturation: &'a [Saturation],
    }
    let results = Results {
        load_average_start: &load_at_start,
        load_average_end: &load_at_end,
        steady_secs: steady.as_secs_f64(),
        saturation_steady_secs: saturation_steady.as_secs_f64(),
        cost_steady_secs: cost_steady.as_secs_f64(),
        cost: &cost_samples,
        runs: &bench.runs,
        saturation: &saturations,
    };
    let path = bench.args.out_dir.join("results.json");
    match serde_json::to_string_pretty(&results) {
        Ok(json) => {
            if let Err(e) = std::fs::write(&path, json) {
                eprintln!("cannot write {}: {e}", path.display());
            } else {
                eprintln!("every run's report: {}", path.display());
            }
        }
        Err(e) => eprintln!("cannot encode results: {e}"),
    }
    if bench.runs.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uncover_tests::load::generator::Percentiles;

    /// A clean saturation step at `delivered` msg/s with the given CPU shares.
    fn step(server: ServerKind, delivered: f64, server_cpu: f64, generator_cpu: f64) -> Run {
        Run {
            workload: "saturation",
            server,
            report: Report {
                target: Target::Relay,
                pairs: 2000,
                connections: 4000,
                rate_per_side: delivered / 4000.0,
                message_bytes: 200,
                setup_secs: 1.0,
                steady_secs: 20.0,
                sent: 1,
                delivered: 1,
                echoed: 0,
                lost: 0,
                reordered: 0,
                misrouted: 0,
                delivered_per_sec: delivered,
                latency_us: Percentiles::default(),
                send_lag_us: Percentiles::default(),
                generator_cpu_percent: generator_cpu,
                server_errors: 0,
                first_error: None,
                disconnects: 0,
                phase_changes: 0,
                server: Some(ServerFigures {
                    cpu_percent: server_cpu,
                    ..ServerFigures::default()
                }),
            },
            held: true,
            generator_bound: false,
        }
    }

    /// The summary of one server's ladder: a step held and the next missed, each given
    /// as (msg/s, server CPU %, generator CPU %).
    fn ladder_summary(
        server: ServerKind,
        held: (f64, f64, f64),
        missed: (f64, f64, f64),
    ) -> String {
        let missed = Run {
            held: false,
            ..step(server, missed.0, missed.1, missed.2)
        };
        let ladder = Saturation {
            server,
            held: Some(step(server, held.0, held.1, held.2)),
            missed: Some(missed),
        };
        summary(&[], &[ladder], None)
    }

    #[test]
    fn a_server_missing_a_step_with_cpu_to_spare_is_flagged() {
        let out = ladder_summary(
            ServerKind::Bare,
            (37_500.0, 64.0, 69.0),
            (40_000.0, 70.0, 77.0),
        );
        assert!(
            out.contains("bare tokio-tungstenite missed 40000 msg/s with its core 70% busy"),
            "{out}"
        );
    }

    #[test]
    fn a_server_out_of_cpu_is_not_flagged() {
        let out = ladder_summary(
            ServerKind::Uncover,
            (20_000.0, 86.0, 57.0),
            (22_500.0, 95.0, 62.0),
        );
        assert!(!out.contains("not out of CPU"), "{out}");
    }
}
