//! Shared helpers for Uncover's integration tests: a real server on port 0
//! ([`TestServer::spawn`]) and a websocket client ([`Client`]) that records every frame
//! it receives, so tests can assert on everything a participant was ever sent.

pub mod load;

pub mod corpus;

pub mod fault;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use uncover::scenario::Library;
use uncover::store::{EventLog, MemoryLog};
use uncover::{AppState, ServerOptions};

/// How long a test waits for an expected message before failing. Generous: CI machines
/// are slow, and a failing test should say what it waited for rather than hang.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(10);

/// A scenario with one-second phases, for tests that let timers run out.
pub const QUICK_SCENARIO: &str = include_str!("../fixtures/quick.toml");

/// The quick scenario with ten-minute phases (id `steady`), for tests that must not
/// race a timer.
pub fn steady_scenario() -> String {
    QUICK_SCENARIO
        .replace("id = \"quick\"", "id = \"steady\"")
        .replace("briefing = 1\n", "briefing = 600\n")
        .replace("conversation = 1\n", "conversation = 600\n")
        .replace("recap = 1\n", "recap = 600\n")
        .replace("id = \"quick-", "id = \"steady-")
        .replace("\"quick-goal\"", "\"steady-goal\"")
}

/// A server running in this process on an ephemeral port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// A server with the bundled scenarios plus the quick test scenario.
    pub async fn spawn() -> Self {
        let mut files = bundled_sources();
        files.push((
            PathBuf::from("fixtures/quick.toml"),
            QUICK_SCENARIO.to_string(),
        ));
        files.push((PathBuf::from("fixtures/steady.toml"), steady_scenario()));
        let library = Library::from_sources(files).expect("test scenarios are valid");
        Self::spawn_with(library).await
    }

    pub async fn spawn_with(library: Library) -> Self {
        Self::spawn_on(
            library,
            Arc::new(MemoryLog::new()),
            ServerOptions::default(),
        )
        .await
    }

    /// The bundled and test scenarios, with options changed by `change`.
    pub async fn spawn_with_options(change: impl FnOnce(&mut ServerOptions)) -> Self {
        let mut options = ServerOptions::default();
        change(&mut options);
        Self::spawn_on(test_library(), Arc::new(MemoryLog::new()), options).await
    }

    /// A server on `store` (rebuilt from what it holds) with `options`.
    pub async fn spawn_on(
        library: Library,
        store: Arc<dyn EventLog>,
        options: ServerOptions,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let state = AppState::build(library, store, options);
        state.recover().await.expect("the event log reads back");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            uncover::run(listener, served, shutdown)
                .await
                .expect("server runs");
        });
        Self {
            addr,
            state,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A websocket connection that has not said hello yet.
    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// A new connection taking back the seat of `token`, having seen up to `last_seq`.
    pub async fn reconnect(&self, token: &str, last_seq: u64) -> Client {
        Client::reconnect(self.addr, token, last_seq).await
    }

    /// A connection that has said hello and received its welcome.
    pub async fn join(&self, name: &str) -> Client {
        let mut c = self.connect().await;
        c.send(json!({"type": "hello", "protocol": 1, "name": name}))
            .await;
        c.expect("welcome").await;
        c
    }

    /// Two participants paired through a private link on `scenario`; returns
    /// `(seller, buyer)` whichever way the roles were drawn.
    pub async fn pair(&self, scenario: &str) -> (Client, Client) {
        let mut a = self.join("Ana").await;
        let mut b = self.join("Ben").await;
        a.send(json!({"type": "create_pair_link", "scenario": scenario}))
            .await;
        let link = a.expect("pair_link").await;
        b.send(json!({"type": "join_pair_link", "code": link["code"]}))
            .await;
        let ra = a.expect("room_opened").await;
        b.expect("room_opened").await;
        if ra["role"] == "seller" {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Two paired participants, both ready: the conversation has begun.
    pub async fn conversation(&self, scenario: &str) -> (Client, Client) {
        let (mut seller, mut buyer) = self.pair(scenario).await;
        seller.send(json!({"type": "ready"})).await;
        buyer.send(json!({"type": "ready"})).await;
        seller.expect_phase("conversation").await;
        buyer.expect_phase("conversation").await;
        (seller, buyer)
    }

    /// An HTTP GET on the server, returning status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A TCP connection to `addr` from the loopback source address `source` (any
/// 127.x.y.z works on Linux), for tests of per-address limits.
pub async fn tcp_from(addr: SocketAddr, source: std::net::IpAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind a loopback source address");
    socket.connect(addr).await.expect("tcp connects")
}

/// The `uncover` binary, for tests that run it as a separate process. `make test` builds
/// it first; `UNCOVER_BIN` points elsewhere. A missing binary fails the test, with the
/// command that builds it, rather than letting it pass unchecked.
pub fn server_binary() -> PathBuf {
    let path = std::env::var_os("UNCOVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/debug")
                .join(format!("uncover{}", std::env::consts::EXE_SUFFIX))
        });
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p uncover` first (make test does)",
        path.display()
    );
    path
}

/// The bundled scenarios plus the `quick` and `steady` test scenarios.
pub fn test_library() -> Library {
    let mut files = bundled_sources();
    files.push((
        PathBuf::from("fixtures/quick.toml"),
        QUICK_SCENARIO.to_string(),
    ));
    files.push((PathBuf::from("fixtures/steady.toml"), steady_scenario()));
    Library::from_sources(files).expect("test scenarios are valid")
}

fn bundled_sources() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("scenarios folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable scenario");
            (p, text)
        })
        .collect();
    files.sort();
    files
}

/// A server message without its per-participant `seq`, for comparing what two
/// participants were told.
pub fn body(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("seq");
    }
    v
}

/// A minimal HTTP/1.1 GET, enough for health checks and JSON endpoints in tests.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_get_with(addr, path, &[]).await
}

/// The same, with extra request headers.
pub async fn http_get_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write request");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read response");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A test participant's websocket.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every message received, parsed, in order.
    pub seen: Vec<Value>,
    /// Every text frame received, as sent by the server.
    pub raw: Vec<String>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("websocket connects");
        Client {
            ws,
            seen: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// A connection from the loopback source address `source` (any 127.x.y.z works on
    /// Linux), so many clients do not share one address's limits.
    pub async fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> Client {
        let tcp = tcp_from(addr, source).await;
        let (ws, _) =
            tokio_tungstenite::client_async(format!("ws://{addr}/ws"), MaybeTlsStream::Plain(tcp))
                .await
                .expect("websocket connects");
        Client {
            ws,
            seen: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// A new connection that sends `reconnect` (the caller reads the answer).
    pub async fn reconnect(addr: SocketAddr, token: &str, last_seq: u64) -> Client {
        let mut c = Client::connect(addr).await;
        c.send(json!({"type": "reconnect", "protocol": 1, "token": token, "last_seq": last_seq}))
            .await;
        c
    }

    /// The resume token from this connection's `welcome`.
    pub fn token(&self) -> String {
        self.seen
            .iter()
            .find(|v| v["type"] == "welcome")
            .and_then(|v| v["resume_token"].as_str())
            .expect("a welcome with a resume token")
            .to_string()
    }

    /// A message of `kind` already received (the first one).
    pub fn expect_seen(&self, kind: &str) -> &Value {
        self.seen
            .iter()
            .find(|v| v["type"] == kind)
            .unwrap_or_else(|| panic!("no `{kind}` received yet"))
    }

    /// The highest `seq` received so far.
    pub fn last_seq(&self) -> u64 {
        self.seen
            .iter()
            .filter_map(|v| v["seq"].as_u64())
            .max()
            .unwrap_or(0)
    }

    pub async fn send(&mut self, msg: Value) {
        self.send_text(&msg.to_string()).await;
    }

    /// Sends, reporting whether the socket took it (false once the server closed it).
    pub async fn try_send(&mut self, msg: Value) -> bool {
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .is_ok()
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send frame");
    }

    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("send frame");
    }

    /// The next server message, or `None` if the socket closed.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(RECV_TIMEOUT, self.ws.next())
                .await
                .expect("a server message within the timeout");
            match frame {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("server sends JSON");
                    self.raw.push(t.to_string());
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// What the socket says within `wait`: a message, nothing, or that it closed.
    pub async fn listen(&mut self, wait: Duration) -> Heard {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return Heard::Quiet,
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("server sends JSON");
                    self.raw.push(t.to_string());
                    self.seen.push(v.clone());
                    return Heard::Message(v);
                }
                Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_))) => return Heard::Closed,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next server message if one arrives within `wait`; `None` if none does.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("server sends JSON");
                    self.raw.push(t.to_string());
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => continue,
                _ => return None,
            }
        }
    }

    /// Reads until a message of `kind` arrives (recording everything on the way).
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            match self.next().await {
                Some(v) if v["type"] == kind => return v,
                Some(v) if v["type"] == "error" && kind != "error" => {
                    panic!("expected `{kind}`, got error: {v}")
                }
                Some(_) => continue,
                None => panic!("socket closed while waiting for `{kind}`"),
            }
        }
    }

    pub async fn expect_phase(&mut self, phase: &str) -> Value {
        loop {
            let v = self.expect("phase").await;
            if v["phase"] == phase {
                return v;
            }
        }
    }

    /// Reads until an error arrives and asserts its `code`.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        loop {
            let v = self.next().await.expect("an error message");
            if v["type"] == "error" {
                assert_eq!(v["code"], code, "wrong error code in {v}");
                return v;
            }
        }
    }

    /// Reads until a chat line from `role` arrives, skipping one's own echoes.
    pub async fn expect_chat_from(&mut self, role: &str) -> Value {
        loop {
            let v = self.expect("chat").await;
            if v["from"] == role {
                return v;
            }
        }
    }

    pub async fn chat(&mut self, text: &str) {
        self.send(json!({"type": "chat", "text": text})).await;
    }

    /// Reads until the server closes the socket; its close code and reason, if it sent
    /// a close frame (messages on the way are recorded).
    pub async fn closed_with(&mut self) -> Option<(u16, String)> {
        loop {
            let frame = tokio::time::timeout(RECV_TIMEOUT * 2, self.ws.next())
                .await
                .expect("the server closes the socket within the timeout");
            match frame {
                Some(Ok(Message::Close(Some(f)))) => {
                    return Some((f.code.into(), f.reason.to_string()))
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(Message::Text(t))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                        self.seen.push(v);
                    }
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// What [`Client::listen`] heard.
#[derive(Debug)]
pub enum Heard {
    Message(Value),
    Quiet,
    Closed,
}

/// The real server as a separate process, so it can be killed with SIGKILL. It waits
/// until the server says it is listening.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub fn start(data: &Path, addr: SocketAddr) -> Self {
        Self::start_with(data, addr, &[])
    }

    pub fn start_with(data: &Path, addr: SocketAddr, options: &[&str]) -> Self {
        Self::start_under(&[], data, addr, options)
    }

    /// The same, run by `wrapper`: a command and its arguments that end by running the
    /// server in the same process (`nsenter` into a mount namespace does).
    pub fn start_under(
        wrapper: &[String],
        data: &Path,
        addr: SocketAddr,
        options: &[&str],
    ) -> Self {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(server_binary());
                c
            }
            None => Command::new(server_binary()),
        };
        let mut child = command
            .args(["--bind", &addr.to_string(), "--grace-secs", "60", "--data"])
            .arg(data)
            .arg("--scenarios")
            .arg(process_scenarios())
            .args(options)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line.expect("server output").starts_with("Press Ctrl+C") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Self { child, addr }
    }

    pub fn kill(mut self) {
        self.child.kill().expect("the server can be killed");
        self.child.wait().expect("the killed server is reaped");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one bundled scenario a server process serves (the tests that run the binary
/// play only this one).
pub const PROCESS_SCENARIO: &str = "distributor-inventory";

/// A folder holding only [`PROCESS_SCENARIO`], for `--scenarios`. A starting server
/// embeds every example of every scenario it serves before it listens: with all six
/// bundled ones that took 17 s on a busy two-core machine, with one 4 s, and the fault
/// runs restart the server dozens of times.
fn process_scenarios() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        // One folder for every test process, each writing the file whole (a copy
        // renamed into place), so a server another process starts never reads half.
        let dir = std::env::temp_dir().join("uncover-test-scenarios");
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let file = format!("{PROCESS_SCENARIO}.toml");
        let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let partial = dir.join(format!("{file}.{}.partial", std::process::id()));
        std::fs::copy(bundled.join(&file), &partial).expect("the bundled scenario");
        std::fs::rename(&partial, dir.join(&file)).expect("the scenario in place");
        dir
    })
}

/// A local address nothing listens on yet, for a server process to bind.
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("a bound address")
}
