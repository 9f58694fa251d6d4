//! The `uncover` binary: parse options, set up logging, then serve or check scenarios.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use uncover::config::{Cli, Command, ServeArgs};
use uncover::scenario::{json_schema, Library};
use uncover::AppState;

fn load(dir: Option<&std::path::Path>) -> Result<Library, ExitCode> {
    let result = match dir {
        Some(d) => Library::load_dir(d),
        None => Library::bundled(),
    };
    result.map_err(|errors| {
        eprintln!("{errors}");
        eprintln!("{} problem(s) in the scenario files", errors.0.len());
        ExitCode::FAILURE
    })
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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check { dir }) => match load(dir.as_deref()) {
            Ok(lib) => {
                println!("{} scenario(s) OK", lib.len());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Some(Command::Schema) => {
            print!("{}", json_schema());
            ExitCode::SUCCESS
        }
        Some(Command::Serve(args)) => serve(args).await,
        None => serve(cli.serve).await,
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    init_tracing(args.log_json);
    let library = match load(args.scenarios.as_deref()) {
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
    println!("Uncover is running with {} scenario(s).", library.len());
    println!("  Trainees:  http://{host}:{}/", addr.port());
    println!("  Health:    http://{host}:{}/healthz", addr.port());
    println!("Press Ctrl+C to stop.");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let state = AppState::new(library);
    state.hub.set_bot_settings(args.bot_settings());
    match uncover::run(listener, state, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
