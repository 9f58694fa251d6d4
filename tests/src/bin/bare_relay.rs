//! `bare_relay`: the bare tokio-tungstenite pair relay Uncover is benchmarked against.
//! Pairs websocket connections in arrival order and forwards frames between partners
//! (see `uncover_tests::load::relay`); with `--echo` each frame also goes back to its
//! sender, the way Uncover acknowledges a chat line.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use uncover_tests::load::raise_open_file_limit;
use uncover_tests::load::relay::{self, Echo};

#[derive(Debug, Parser)]
#[command(
    name = "bare_relay",
    about = "A bare websocket relay pairing connections in arrival order"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    bind: SocketAddr,
    /// Runtime worker threads; 0 runs everything on one thread (tokio's current_thread).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Also send each frame back to its sender, as Uncover acknowledges each chat line.
    #[arg(long)]
    echo: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    raise_open_file_limit();
    let runtime = if args.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(args.bind).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {}: {e}", args.bind);
                return ExitCode::FAILURE;
            }
        };
        println!("bare relay listening on {}", args.bind);
        let echo = if args.echo {
            Echo::ToSender
        } else {
            Echo::None
        };
        match relay::serve(listener, echo).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("accept failed: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
