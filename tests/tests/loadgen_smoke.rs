//! Smoke tests for the benchmark's tools, so `make bench` never finds them rotten: the load
//! generator drives a few pairs for a second against an in-process Uncover server and the
//! in-process bare relay (plain and echoing), the `loadgen` and `bench` binaries work end to
//! end, and a server that swallows messages is reported as losing them. No timing is asserted here;
//! speed lives in `make bench`.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpListener;
use uncover_tests::load::generator::{self, Config, Report, Target};
use uncover_tests::load::relay::{self, Echo};
use uncover_tests::TestServer;

/// A few pairs for a couple of seconds: enough traffic to exercise every path.
fn smoke_config(url: String, target: Target) -> Config {
    let mut c = Config::new(url, target);
    c.pairs = 3;
    c.rate_per_side = 10.0;
    c.ramp = Duration::from_millis(200);
    // Two seconds, not one: on a machine busy with builds a one-second window once closed
    // before any sender's first line was due.
    c.steady = Duration::from_secs(2);
    c.drain = Duration::from_secs(5);
    c.server_pid = Some(std::process::id());
    c
}

fn assert_everything_arrived(r: &Report) {
    assert_eq!(r.connections, 6, "{r:?}");
    assert!(r.sent > 0, "nothing was sent: {r:?}");
    assert_eq!(r.delivered, r.sent, "messages went missing: {r:?}");
    assert_eq!(r.lost, 0, "{r:?}");
    assert_eq!(r.reordered, 0, "{r:?}");
    assert_eq!(r.misrouted, 0, "{r:?}");
    assert_eq!(r.latency_us.count, r.delivered, "{r:?}");
    assert!(r.is_clean(), "{r:?}");
    assert!(r.server.is_some(), "server figures missing: {r:?}");
}

async fn spawn_bare_relay(echo: Echo) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(relay::serve(listener, echo));
    format!("ws://{addr}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncover_pairs_made_through_the_protocol_deliver_every_chat_line() {
    let server = TestServer::spawn().await;
    let mut config = smoke_config(format!("ws://{}/ws", server.addr), Target::Uncover);
    // Ten-minute phases: a timer must not end the conversation mid-run.
    config.scenario = Some("steady".into());
    let report = generator::run(&config).await.unwrap();
    assert_everything_arrived(&report);
    assert_eq!(
        report.echoed, report.sent,
        "every line is acknowledged: {report:?}"
    );
}

/// The smoke run against an in-process bare relay.
async fn run_against_bare_relay(echo: Echo) -> Report {
    let url = spawn_bare_relay(echo).await;
    generator::run(&smoke_config(url, Target::Relay))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_relay_forwards_every_frame_to_the_partner() {
    let report = run_against_bare_relay(Echo::None).await;
    assert_everything_arrived(&report);
    assert_eq!(report.echoed, 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoing_relay_also_returns_every_frame_to_its_sender() {
    let report = run_against_bare_relay(Echo::ToSender).await;
    assert_everything_arrived(&report);
    assert_eq!(report.echoed, report.sent, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_swallows_messages_is_reported_as_losing_them() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await {
                    while let Some(Ok(_)) = ws.next().await {}
                }
            });
        }
    });
    let mut config = smoke_config(format!("ws://{addr}/"), Target::Relay);
    config.drain = Duration::from_millis(300);
    let report = generator::run(&config).await.unwrap();
    assert!(report.sent > 0, "{report:?}");
    assert_eq!(report.delivered, 0, "{report:?}");
    assert_eq!(report.lost, report.sent, "{report:?}");
    assert!(!report.is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_binary_reports_a_clean_run_as_json() {
    let url = spawn_bare_relay(Echo::None).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "--url",
            &url,
            "--target",
            "relay",
            "--pairs",
            "2",
            "--rate",
            "10",
            "--ramp-secs",
            "0.2",
            "--steady-secs",
            "1",
            "--json",
        ])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "loadgen failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["connections"], 4, "{report}");
    assert!(report["sent"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["delivered"], report["sent"], "{report}");
    assert_eq!(report["lost"], 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_runner_measures_each_server_in_interleaved_rounds() {
    let out_dir = std::env::temp_dir().join(format!("uncover-bench-smoke-{}", std::process::id()));
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .args([
            "--servers",
            "bare,bare-echo",
            "--no-realistic",
            "--no-saturation",
            "--cost-rounds",
            "2",
            "--cost-rates",
            "200",
            "--cost-pairs",
            "3",
            "--cost-steady-secs",
            "1",
            "--out-dir",
        ])
        .arg(&out_dir)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench failed: {stderr}");
    assert!(
        stdout.contains("3 pairs, median of 2 interleaved rounds"),
        "{stdout}"
    );
    assert!(stdout.contains("200 msg/s, per message:"), "{stdout}");
    assert!(stdout.contains("\n    bare tokio-tungstenite "), "{stdout}");
    assert!(
        stdout.contains("\n    bare, echoing to sender "),
        "{stdout}"
    );
    assert!(stdout.contains(" context switches"), "{stdout}");
    // Round one runs every server before round two runs any.
    let order: Vec<&str> = stderr
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            ["bare tokio-tungstenite", "bare, echoing"]
                .into_iter()
                .find(|label| l.starts_with(label))
        })
        .collect();
    assert_eq!(
        order,
        [
            "bare tokio-tungstenite",
            "bare, echoing",
            "bare tokio-tungstenite",
            "bare, echoing"
        ],
        "{stderr}"
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("results.json")).unwrap()).unwrap();
    let runs = results["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4, "{results}");
    for run in runs {
        assert_eq!(run["workload"], "cost", "{run}");
        assert_eq!(run["report"]["steady_secs"], 1.0, "{run}");
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}
