//! One server per data file: a second `uncover serve` on a file already served refuses
//! to start and names the file and the process holding it; a side file SQLite needs but
//! cannot write stops the server at start with a clear error, not a crash later.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use uncover_tests::{free_addr, server_binary, ServerProcess};

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uncover-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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
    let dir = data_dir("two-writers");
    let data = dir.join("same.sqlite");
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
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_shm_file_stops_the_server_at_start_with_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = data_dir("shm");
    let data = dir.join("events.sqlite");
    // A server killed outright leaves its -shm file behind.
    ServerProcess::start(&data, free_addr()).kill();
    let shm = dir.join("events.sqlite-shm");
    if !shm.exists() {
        std::fs::write(&shm, b"").unwrap();
    }
    std::fs::set_permissions(&shm, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = serve_expecting_exit(&data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a clean failure, not a signal: {stderr}"
    );
    assert!(stderr.contains("events.sqlite-shm"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
