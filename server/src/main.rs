//! The `uncover` binary: parse options, set up logging, then serve or check scenarios.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use uncover::config::{Cli, Command, ServeArgs};
use uncover::hub::HubConfig;

use uncover::meaning;
use uncover::reader;
use uncover::scenario::{json_schema, Library, ScenarioErrors, ScenarioId};
use uncover::store::EventLog;
use uncover::{AppState, ServerOptions};

/// mimalloc, not glibc's allocator: each connection's many small, short-lived buffers
/// come back to the heap with less left resident beside the lines a room keeps, and
/// allocating costs fewer instructions (see `docs/benchmarks.md`, "Seventh round").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Ctrl+C or SIGTERM (what service managers send) starts a drain.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Where SIGUSR1 writes a backup of the event log: `<data>.backup`.
fn backup_path(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".backup");
    PathBuf::from(name)
}

/// On each SIGUSR1, writes a backup of the event log to `to`. The server's SQLite file
/// admits no other process while it runs (see `store::sqlite`), so this replaces
/// `sqlite3 … .backup` for a running server.
fn backup_on_signal(store: Arc<dyn EventLog>, to: PathBuf) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
            tracing::warn!("cannot listen for SIGUSR1: no backups on demand");
            return;
        };
        tokio::spawn(async move {
            while usr1.recv().await.is_some() {
                match store.backup(&to).await {
                    Ok(()) => tracing::info!(to = %to.display(), "event log backed up"),
                    Err(e) => tracing::error!(error = %e, "event log backup failed"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (store, to);
}

/// Loads the reader's model from `dir` (or where `make model` leaves it) and makes it the
/// server's; a missing or corrupt model stops here with its path and the fix.
fn load_reader(dir: Option<&Path>) -> Result<(), ExitCode> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(reader::default_dir);
    match reader::Reader::load(&dir) {
        Ok(r) => {
            reader::install(r);
            Ok(())
        }
        Err(e) => {
            eprintln!("cannot start: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// Loads and checks the scenarios; with `lint`, the reader's lints too (they embed every
/// example, so `check` runs them and `serve` leaves them to `check`), printing warnings.
/// Every error is printed with its file, line and field.
fn load(dir: Option<&Path>, lint: bool) -> Result<Library, ExitCode> {
    let report = |errors: ScenarioErrors| {
        eprintln!("{errors}");
        eprintln!("{} problem(s) in the scenario files", errors.0.len());
        ExitCode::FAILURE
    };
    let sources = match dir {
        Some(d) => Library::dir_sources(d).map_err(report)?,
        None => Library::bundled_sources(),
    };
    let no_lints = |_: &uncover::scenario::Scenario| Vec::new();
    let check: uncover::scenario::Check<'_> = if lint { &meaning::lint } else { &no_lints };
    let (library, warnings) = Library::from_sources_checked(sources, check).map_err(report)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    Ok(library)
}

/// Addresses other machines can use, when listening on every interface.
fn lan_urls(addr: std::net::SocketAddr) -> Vec<String> {
    if !addr.ip().is_unspecified() {
        return Vec::new();
    }
    let mut urls: Vec<String> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback())
        .filter_map(|i| match i.ip() {
            std::net::IpAddr::V4(ip) => Some(format!("http://{ip}:{}", addr.port())),
            std::net::IpAddr::V6(_) => None,
        })
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if json {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check { dir, model }) => {
            if let Err(code) = load_reader(model.as_deref()) {
                return code;
            }
            match load(dir.as_deref(), true) {
                Ok(lib) => {
                    println!("{} scenario(s) OK", lib.len());
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
        Some(Command::Explain {
            scenario,
            message,
            scenarios,
            model,
        }) => {
            if let Err(code) = load_reader(model.as_deref()) {
                return code;
            }
            let lib = match load(scenarios.as_deref(), false) {
                Ok(l) => l,
                Err(code) => return code,
            };
            match lib.get(&ScenarioId(scenario.clone())) {
                Some(s) => {
                    print!("{}", uncover::explain::explain(s, &message));
                    ExitCode::SUCCESS
                }
                None => {
                    let ids: Vec<String> = lib.all().iter().map(|s| s.id.0.clone()).collect();
                    eprintln!("no scenario `{scenario}`; there are: {}", ids.join(", "));
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Schema) => {
            print!("{}", json_schema());
            ExitCode::SUCCESS
        }
        Some(Command::Serve(args)) => serve_on_runtime(args),
        None => serve_on_runtime(cli.serve),
    }
}

/// Builds the runtime `args` ask for and serves on it.
fn serve_on_runtime(args: ServeArgs) -> ExitCode {
    // The reader encodes one text at a time so a core stays with the relay, but candle's
    // matrix maths would spread each encoding over every core. Set before any thread
    // starts, so nothing reads the environment meanwhile.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let threads = args.worker_threads();
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    match runtime {
        Ok(runtime) => runtime.block_on(serve(args)),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    init_tracing(args.log_json);
    // Every connection is a file descriptor; the usual soft limit (1,024) runs out long
    // before the machine does, and then nobody can connect, not even to /healthz.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
    // The data file first: a second server on it, or a file it cannot write, is told at
    // once, before the seconds the model takes to load.
    let store = match uncover::store::open(&args.data) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot open the event log: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(code) = load_reader(args.model.as_deref()) {
        return code;
    }
    if args.no_read_ahead {
        reader::shared().set_read_ahead(false);
        tracing::info!("reading ahead is off: debriefs read their lines when asked for");
    }
    let library = match load(args.scenarios.as_deref(), false) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let listener = match tokio::net::TcpListener::bind(args.bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.bind);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(args.bind);
    let host = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    let lan_urls = lan_urls(addr);
    let options = ServerOptions {
        hub: HubConfig {
            lan_urls: lan_urls.clone(),
            grace: Duration::from_secs(args.grace_secs),
        },
        allowed_origins: args.allowed_origins.clone(),
        retention: (args.retention_days > 0)
            .then(|| Duration::from_secs(args.retention_days * 24 * 60 * 60)),
        ..ServerOptions::default()
    };
    let scenarios = library.len();
    // Embed every scenario's examples before anyone can connect, so no room waits for its
    // scenario to be read (a few seconds of CPU, once).
    let warm: Vec<_> = library.all().to_vec();
    // With read-ahead off (the instruction-count benchmark, under valgrind) nothing is
    // read until a debrief asks, so the generic sets wait for it too.
    let generic = !args.no_read_ahead;
    let _ = tokio::task::spawn_blocking(move || {
        for s in &warm {
            meaning::index(s);
        }
        if generic {
            meaning::warm_generic();
        }
    })
    .await;
    backup_on_signal(Arc::clone(&store), backup_path(&args.data));
    let state = AppState::build(library, store, options);
    state.hub.set_bot_settings(args.bot_settings());
    // Rebuild before announcing the addresses: whoever reads them may connect at once.
    let recovered = match state.recover().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot read the event log {}: {e}", args.data.display());
            return ExitCode::FAILURE;
        }
    };
    if recovered.unreadable > 0 {
        eprintln!(
            "  {} unreadable event(s) were skipped",
            recovered.unreadable
        );
    }
    println!("Uncover is running with {scenarios} scenario(s).");
    println!("  Trainees:  http://{host}:{}/", addr.port());
    println!("  Trainer:   http://{host}:{}/host", addr.port());
    for url in &lan_urls {
        println!("  On the LAN: {url}");
    }
    if addr.ip().is_loopback() {
        println!(
            "  (Only this computer can connect; use --bind 0.0.0.0:{} so phones can join.)",
            addr.port()
        );
    }
    println!("  Health:    http://{host}:{}/healthz", addr.port());
    println!(
        "  Data:      {} ({} session(s), {} round(s) resumed)",
        args.data.display(),
        recovered.sessions,
        recovered.rooms_resumed
    );
    println!("Press Ctrl+C to stop.");
    let shutdown = shutdown_signal();
    match uncover::run(listener, state, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
