//! One server per data file: a second `uncover serve` on a file already served refuses
//! to start and names the file and the process holding it; a `-wal` file SQLite needs
//! but cannot write stops the server at start with a clear error, not a crash later;
//! and a `-shm` file broken before or while the server runs does neither harm (the
//! server keeps SQLite's WAL index in its own memory, not in that file).
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use uncover::store::{EventLog, SqliteLog};
use uncover_tests::fault::{come_back, link_pair, say, start_conversation, DataDir, Stop};
use uncover_tests::{free_addr, server_binary, ServerProcess};

/// Runs `uncover serve` on `data` and waits for it to exit (it must, within 10 s).
fn serve_expecting_exit(data: &Path) -> Output {
    let mut child = Command::new(server_binary())
        .args(["--bind", &free_addr().to_string(), "--data"])
        .arg(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("a second server on the same file kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_second_server_on_the_same_file_refuses_to_start_and_names_the_first() {
    let dir = DataDir::new("two-writers");
    let data = dir.path().join("same.sqlite");
    let first = ServerProcess::start(&data, free_addr());
    let second = serve_expecting_exit(&data);
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&data.display().to_string()),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", first.child.id())),
        "names the other process: {stderr}"
    );
    // The first is unharmed, and once it is gone the file can be served again.
    first.kill();
    let third = ServerProcess::start(&data, free_addr());
    third.kill();
}

#[test]
fn an_unwritable_wal_file_stops_the_server_at_start_with_a_clear_error() {
    let dir = DataDir::new("wal");
    let data = dir.events();
    // A server killed outright leaves its -wal file behind.
    ServerProcess::start(&data, free_addr()).kill();
    let wal = side_file(&data, "-wal");
    if !wal.exists() {
        std::fs::write(&wal, b"").unwrap();
    }
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert_start_refused_naming(&data, "events.sqlite-wal");
}

/// Starts a server on `data`, expecting it to stop at once with exit code 1 (a clean
/// failure, not a signal) and to name `file` on stderr.
fn assert_start_refused_naming(data: &Path, file: &str) {
    let out = serve_expecting_exit(data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a clean failure, not a signal: {stderr}"
    );
    assert!(stderr.contains(file), "{stderr}");
}

#[test]
fn an_unwritable_journal_stops_the_server_at_start_with_a_clear_error() {
    for suffix in [".journal", ".journal2"] {
        let dir = DataDir::new("journal");
        let data = dir.events();
        ServerProcess::start(&data, free_addr()).kill();
        let journal = side_file(&data, suffix);
        assert!(
            journal.exists(),
            "the server keeps its journal's {suffix} file beside the data file"
        );
        std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o444)).unwrap();
        assert_start_refused_naming(&data, &format!("events.sqlite{suffix}"));
    }
}

/// `<data><suffix>`, one of the files kept beside the data file.
fn side_file(data: &Path, suffix: &str) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Cuts `<data>-shm` to nothing (creating it if SQLite keeps none) and makes it
/// unwritable, as a clean-up script or a careless copy might.
fn break_shm(data: &Path) {
    let shm = side_file(data, "-shm");
    std::fs::write(&shm, b"").unwrap();
    std::fs::set_permissions(&shm, std::fs::Permissions::from_mode(0o444)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shm_file_broken_while_the_server_runs_neither_stops_it_nor_loses_a_line() {
    let dir = DataDir::new("shm-runtime");
    let data = dir.events();
    let addr = free_addr();
    let mut server = ServerProcess::start(&data, addr);
    let (mut a, mut b) = link_pair(addr, Ipv4Addr::LOCALHOST.into(), ["Ana", "Ben"]).await;
    start_conversation(&mut a, &mut b).await;
    say(&mut a, "Before the -shm file broke.").await;
    break_shm(&data);
    // Each line is echoed once saved: a server killed by SIGBUS would close the socket.
    for i in 0..20 {
        say(&mut a, &format!("a after {i}")).await;
        say(&mut b, &format!("b after {i}")).await;
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server keeps running"
    );
    let (token, last_seq) = (b.token(), b.last_seq());
    server.stop(Stop::Kill);

    // The broken file is still there: the server starts anyway and has every line.
    let _server = ServerProcess::start(&data, addr);
    let back = come_back(addr, Ipv4Addr::LOCALHOST.into(), &token, last_seq, "Ben").await;
    let lines = back.view.iter().filter(|v| v["type"] == "chat").count();
    assert_eq!(lines, 41, "every line is back: {:?}", back.view);
}

#[test]
fn a_stray_unwritable_shm_file_does_not_keep_the_server_from_starting() {
    let dir = DataDir::new("shm-start");
    let data = dir.events();
    ServerProcess::start(&data, free_addr()).kill();
    break_shm(&data);
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    assert!(
        std::net::TcpStream::connect(addr).is_ok(),
        "the server is listening"
    );
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr1_backs_up_a_running_server_with_every_saved_line() {
    let dir = DataDir::new("backup");
    let data = dir.events();
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let (mut a, mut b) = link_pair(addr, Ipv4Addr::LOCALHOST.into(), ["Ana", "Ben"]).await;
    start_conversation(&mut a, &mut b).await;
    say(&mut a, "Kept in the backup.").await;
    server.signal("-USR1");
    let backup = side_file(&data, ".backup");
    let asked = Instant::now();
    while !backup.exists() {
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "no backup at {}",
            backup.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = SqliteLog::open(&backup).unwrap().load_all().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.body.contains("Kept in the backup.")),
        "the backup holds the saved line ({} events)",
        events.len()
    );
    server.kill();
}
