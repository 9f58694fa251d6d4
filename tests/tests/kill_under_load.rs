//! The fault run: 50 pairs chatting on the real binary, killed with SIGKILL (or stopped
//! with SIGTERM) at a moment picked from the clock, started again on the same file. Every client reconnects with
//! its `last_seq` and must get back every acknowledged line (its own and its
//! partner's), each once, at its original index, numbered on from its `last_seq`, and
//! be back in its room within 2 s, its conversation's remaining time within 1 s. It prints its figures (run with `--nocapture`).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use uncover_tests::{free_addr, Client, ServerProcess};

const PAIRS: usize = 50;
/// Pairs per loopback source address, so joins and reconnects stay within one
/// address's limits as a real workshop's NAT would.
const PAIRS_PER_ADDRESS: usize = 10;
/// Time between two lines from one person (the rate limit is 20 a second).
const LINE_EVERY: Duration = Duration::from_millis(120);
/// How long a client may take to get its whole view back after reconnecting.
const BACK_WITHIN: Duration = Duration::from_secs(2);

fn source(pair: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        3,
        0,
        (pair / PAIRS_PER_ADDRESS) as u8 + 1,
    ))
}

async fn join(addr: SocketAddr, from: IpAddr, name: &str) -> Client {
    let mut c = Client::connect_from(addr, from).await;
    c.send(json!({"type": "hello", "protocol": 1, "name": name}))
        .await;
    c.expect("welcome").await;
    c
}

/// What one person saw before the kill.
struct Before {
    client: Client,
    /// Lines this person sent and got the echo of: text → index.
    acked: HashMap<String, u64>,
    /// The conversation's time left as last told, and when that was.
    remaining: (i64, Instant),
}

/// Chats until the socket dies: a line every [`LINE_EVERY`], reading everything.
async fn chat_until_killed(mut c: Client, who: String, remaining: (i64, Instant)) -> Before {
    let mut acked = HashMap::new();
    let mut n = 0;
    let mut last_line = Instant::now() - LINE_EVERY;
    loop {
        if last_line.elapsed() >= LINE_EVERY {
            last_line = Instant::now();
            if !c
                .try_send(json!({"type": "chat", "text": format!("{who} line {n}")}))
                .await
            {
                break;
            }
            n += 1;
        }
        match c.next_within(Duration::from_millis(20)).await {
            Some(v) if v["type"] == "chat" => {
                let text = v["text"].as_str().unwrap().to_string();
                if text.starts_with(&who) {
                    acked.insert(text, v["index"].as_u64().unwrap());
                }
            }
            Some(v) if v["type"] == "error" => panic!("{who} refused: {v}"),
            Some(_) => {}
            None if last_line.elapsed() > Duration::from_secs(3) => break,
            None => {}
        }
    }
    Before {
        client: c,
        acked,
        remaining,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_pairs_killed_mid_chat_get_every_acknowledged_line_back() {
    stop_mid_chat_and_check("-KILL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_pairs_stopped_with_sigterm_mid_chat_get_every_acknowledged_line_back() {
    stop_mid_chat_and_check("-TERM").await;
}

/// Stops the server with `signal` while 50 pairs chat, restarts it, and checks what
/// every client gets back.
async fn stop_mid_chat_and_check(signal: &str) {
    let dir = std::env::temp_dir().join(format!("uncover-stop50{signal}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("events.sqlite");
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);

    let mut tasks = Vec::new();
    for p in 0..PAIRS {
        let from = source(p);
        let mut a = join(addr, from, &format!("A{p}")).await;
        let mut b = join(addr, from, &format!("B{p}")).await;
        a.send(json!({"type": "create_pair_link", "scenario": "distributor-inventory"}))
            .await;
        let code = a.expect("pair_link").await["code"].clone();
        b.send(json!({"type": "join_pair_link", "code": code}))
            .await;
        a.expect("room_opened").await;
        b.expect("room_opened").await;
        for c in [&mut a, &mut b] {
            c.send(json!({"type": "ready"})).await;
        }
        let left = |v: Value| (v["remaining_ms"].as_i64().unwrap(), Instant::now());
        let la = left(a.expect_phase("conversation").await);
        let lb = left(b.expect_phase("conversation").await);
        tasks.push(tokio::spawn(chat_until_killed(
            a,
            format!("pair {p} a"),
            la,
        )));
        tasks.push(tokio::spawn(chat_until_killed(
            b,
            format!("pair {p} b"),
            lb,
        )));
    }
    // A moment picked from the clock, between 1 and 3 seconds of chat.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let chat_for = Duration::from_millis(1_000 + u64::from(nanos % 2_000));
    tokio::time::sleep(chat_for).await;
    let mut server = server;
    let status = std::process::Command::new("kill")
        .args([signal, &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopped_at = Instant::now();
    server.child.wait().unwrap();
    let mut people = Vec::new();
    for t in tasks {
        people.push(t.await.unwrap());
    }

    let server = ServerProcess::start(&data, addr);
    let up_at = Instant::now();
    let mut worst_clock_ms = 0i64;
    let mut checked = 0usize;
    let mut lost = 0usize;
    let mut duplicated = 0usize;
    let mut reordered = 0usize;
    let mut moved = 0usize;
    let mut slowest = Duration::ZERO;
    for (i, before) in people.iter().enumerate() {
        let pair = i / 2;
        let partner = &people[i ^ 1];
        let last_seq = before.client.last_seq();
        let started = Instant::now();
        let mut c = Client::connect_from(server.addr, source(pair)).await;
        c.send(
            json!({"type": "reconnect", "protocol": 1, "token": before.client.token(),
                      "last_seq": last_seq}),
        )
        .await;
        let marker = format!("person {i} back");
        c.chat(&marker).await;
        let mut view = Vec::new();
        loop {
            let v = c.next().await.expect("the socket stays open");
            assert_ne!(v["type"], "error", "person {i}: {v}");
            let done = v["type"] == "chat" && v["text"] == marker.as_str();
            view.push(v);
            if done {
                break;
            }
        }
        slowest = slowest.max(started.elapsed());
        // The clock: the conversation ran until the stop and again since the restart.
        let phase = view.iter().rev().find(|v| v["type"] == "phase").unwrap();
        assert_eq!(phase["phase"], "conversation", "person {i}: {phase}");
        let (told, told_at) = before.remaining;
        let ran = stopped_at.duration_since(told_at).as_millis() as i64
            + up_at.elapsed().as_millis() as i64;
        let off = (phase["remaining_ms"].as_i64().unwrap() - (told - ran)).abs();
        worst_clock_ms = worst_clock_ms.max(off);
        assert_eq!(view[0]["type"], "reconnected", "person {i}");
        assert_eq!(view[0]["replayed"], false, "person {i}");
        let seqs: Vec<u64> = view.iter().map(|v| v["seq"].as_u64().unwrap()).collect();
        let want: Vec<u64> = (last_seq + 1..=last_seq + seqs.len() as u64).collect();
        assert_eq!(seqs, want, "person {i}: numbered on from last_seq + 1");
        assert!(
            view.iter().any(|v| v["type"] == "room_opened"),
            "person {i} is back in the room"
        );
        // The rebuilt transcript, by index.
        let mut transcript: BTreeMap<u64, String> = BTreeMap::new();
        let mut last_index = None;
        for v in view.iter().filter(|v| v["type"] == "chat") {
            let index = v["index"].as_u64().unwrap();
            if last_index.is_some_and(|l| index <= l) {
                reordered += 1;
            }
            last_index = Some(index);
            if transcript
                .insert(index, v["text"].as_str().unwrap().to_string())
                .is_some()
            {
                duplicated += 1;
            }
        }
        for (text, index) in before.acked.iter().chain(partner.acked.iter()) {
            checked += 1;
            match transcript.iter().find(|(_, t)| *t == text) {
                None => lost += 1,
                Some((at, _)) if at != index => moved += 1,
                Some(_) => {}
            }
        }
    }
    println!(
        "kill {signal} after {chat_for:?} of chat, {PAIRS} pairs: {checked} acknowledged lines \
         checked, {lost} lost to clients, {duplicated} duplicated, {reordered} reordered, \
         {moved} at another index; slowest client back in {slowest:?}; remaining time \
         off by {worst_clock_ms} ms at most"
    );
    assert!(
        worst_clock_ms <= 1_000,
        "every phase keeps its remaining time within 1 s (worst {worst_clock_ms} ms)"
    );
    assert!(
        checked > PAIRS * 2,
        "enough lines were acknowledged ({checked})"
    );
    assert_eq!(
        (lost, duplicated, reordered, moved),
        (0, 0, 0, 0),
        "nothing lost, doubled, reordered or moved"
    );
    assert!(
        slowest <= BACK_WITHIN,
        "every client back within {BACK_WITHIN:?} (slowest {slowest:?})"
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
