//! Command line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "uncover",
    version,
    about = "Live sales discovery role-play: a server and its web client"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options for `serve`, also accepted without the word `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (the default when no command is given).
    Serve(ServeArgs),
    /// Validate scenario files and report every problem with file, line and field,
    /// including the reader's lints on each fact's examples.
    Check {
        /// Folder of scenario TOML files (default: the bundled scenarios).
        dir: Option<PathBuf>,
        /// Folder of the reader's model (default: `target/model` found from here).
        #[arg(long, env = "UNCOVER_MODEL")]
        model: Option<PathBuf>,
    },
    /// Show how a seller message is read against a scenario: the nearest example of each
    /// fact, the scores and thresholds, and what the bot buyer would do.
    Explain {
        /// The scenario's id, e.g. `distributor-inventory`.
        scenario: String,
        /// The seller's message, in quotes.
        message: String,
        /// Folder of scenario TOML files (default: the bundled scenarios).
        #[arg(long, env = "UNCOVER_SCENARIOS")]
        scenarios: Option<PathBuf>,
        /// Folder of the reader's model (default: `target/model` found from here).
        #[arg(long, env = "UNCOVER_MODEL")]
        model: Option<PathBuf>,
    },
    /// Print the JSON Schema of the scenario format.
    Schema,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; use 0.0.0.0:8080 to let phones on the LAN join.
    #[arg(long, env = "UNCOVER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Folder of scenario TOML files (default: the scenarios bundled in the binary).
    #[arg(long, env = "UNCOVER_SCENARIOS")]
    pub scenarios: Option<PathBuf>,
    /// Folder of the reader's model: config.json, tokenizer.json, model.safetensors
    /// (default: `target/model` in this folder or a parent, as `make model` leaves it).
    #[arg(long, env = "UNCOVER_MODEL")]
    pub model: Option<PathBuf>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "UNCOVER_LOG_JSON")]
    pub log_json: bool,
    /// Seconds a trainee waits alone for a partner before the bot buyer is offered.
    #[arg(long, env = "UNCOVER_BOT_OFFER_AFTER", default_value_t = crate::bot::BOT_OFFER_AFTER.as_secs())]
    pub bot_offer_after: u64,
    /// The bot buyer answers at once instead of taking a human typing time (demos, load tests).
    #[arg(long, env = "UNCOVER_BOT_INSTANT")]
    pub bot_instant: bool,
    /// Seed for the bot buyer's choice of replies, mixed with each room's number.
    #[arg(long, env = "UNCOVER_BOT_SEED", default_value_t = 0)]
    pub bot_seed: u64,
    /// The event log (SQLite file, created if missing); `:memory:` keeps nothing.
    #[arg(long, env = "UNCOVER_DATA", default_value = "uncover.sqlite")]
    pub data: PathBuf,
    /// Seconds a dropped participant keeps their seat before their partner is told.
    #[arg(long, env = "UNCOVER_GRACE_SECS", default_value_t = crate::hub::DEFAULT_GRACE.as_secs())]
    pub grace_secs: u64,
    /// Days to keep a session's data after its last event; 0 keeps everything.
    #[arg(long, env = "UNCOVER_RETENTION_DAYS", default_value_t = DEFAULT_RETENTION_DAYS)]
    pub retention_days: u64,
    /// Another origin allowed to open websockets (e.g. the public name behind a proxy).
    #[arg(
        long = "allow-origin",
        env = "UNCOVER_ALLOW_ORIGIN",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Threads serving connections; 0 means one per core this process may use. With
    /// one, the server runs a single-threaded scheduler, which does less work per message
    /// than a multi-threaded one confined to one core.
    #[arg(long, env = "UNCOVER_THREADS", default_value_t = 0)]
    pub threads: usize,
    /// Never read human rounds' seller lines (and recaps) ahead in the background: each
    /// debrief reads its lines when it is asked for instead, so it arrives later; the
    /// generic sentence sets are likewise built on first use, not at start. Bot rooms
    /// still read every line. For measuring the relay alone (`tests/bench/callgrind.sh`:
    /// under valgrind, which runs one thread at a time, the model's encodings crowd the
    /// relay out) and for servers that must spend no CPU beside the chat.
    #[arg(long, env = "UNCOVER_NO_READ_AHEAD")]
    pub no_read_ahead: bool,
}

impl ServeArgs {
    /// How many threads serve connections, resolving 0 to the cores available (which
    /// honours `taskset` and container CPU limits).
    pub fn worker_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// A quarter covers a training programme's follow-up sessions; older data goes.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;

impl ServeArgs {
    /// The bot buyer settings these options ask for.
    pub fn bot_settings(&self) -> crate::bot::BotSettings {
        crate::bot::BotSettings {
            offer_after: std::time::Duration::from_secs(self.bot_offer_after),
            reply_delay: if self.bot_instant {
                crate::bot::ReplyDelay::NONE
            } else {
                crate::bot::ReplyDelay::HUMAN
            },
            seed: self.bot_seed,
        }
    }
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            scenarios: None,
            model: None,
            log_json: false,
            bot_offer_after: crate::bot::BOT_OFFER_AFTER.as_secs(),
            bot_instant: false,
            bot_seed: 0,
            data: PathBuf::from("uncover.sqlite"),
            grace_secs: crate::hub::DEFAULT_GRACE.as_secs(),
            retention_days: DEFAULT_RETENTION_DAYS,
            allowed_origins: Vec::new(),
            threads: 0,
            no_read_ahead: false,
        }
    }
}
