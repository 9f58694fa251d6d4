// The Node baselines for Uncover's benchmark: what a team might write instead of Uncover's
// server. Pairs websocket connections in the order their handshakes complete and forwards
// every frame to the partner, with npm's `ws`.
//
// Given a database file, it is the durable baseline instead: every frame is committed to
// SQLite (npm's `better-sqlite3`, WAL, `synchronous = NORMAL` as Uncover's event log)
// before it is echoed to its sender and forwarded, as Uncover does with a chat line.
//
// Usage: node relay.js [port] [database file] (port 9002, bound to 127.0.0.1; the file is
// removed first, so every run starts with an empty log).

'use strict';

const fs = require('fs');
const { WebSocketServer } = require('ws');

// Same bound as Uncover's outbox and the Rust relay: 256 frames of ~256 bytes. A partner
// with more than this waiting to go out reads too slowly, and the pair is closed.
const MAX_BUFFERED_BYTES = 256 * 256;
// Frames kept for a socket that speaks before its partner arrives.
const MAX_EARLY_FRAMES = 256;
// Chat frames are small; refuse anything abusive, as the Rust servers do.
const MAX_PAYLOAD_BYTES = 64 * 1024;

const port = Number(process.argv[2] || 9002);
const save = openLog(process.argv[3]);

// A function committing one line of a pair's stream, or null for the plain relay.
function openLog(file) {
  if (!file) return null;
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  const Database = require('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit is in the OS before the echo, so it survives the process
  // being killed; Uncover's log promises the same.
  db.pragma('synchronous = NORMAL');
  // Uncover's table, so both servers write the same rows.
  db.exec(`CREATE TABLE IF NOT EXISTS events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT    NOT NULL,
    at_ms  INTEGER NOT NULL,
    body   TEXT    NOT NULL
  )`);
  // Outside a transaction each run() is its own commit: the line is saved when it returns.
  const insert = db.prepare('INSERT INTO events (stream, at_ms, body) VALUES (?, ?, ?)');
  return (stream, data) => insert.run(stream, Date.now(), data.toString());
}

const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  maxPayload: MAX_PAYLOAD_BYTES,
  clientTracking: false,
});

let waiting = null;
let pairs = 0;

function endPair(ws) {
  const partner = ws.partner;
  ws.partner = null;
  if (partner) {
    partner.partner = null;
    partner.terminate();
  }
  ws.terminate();
}

// Forwards a frame (committed and echoed first, when durable); false if the pair closed.
function relay(ws, data, isBinary) {
  const partner = ws.partner;
  if (partner.bufferedAmount > MAX_BUFFERED_BYTES) {
    endPair(ws);
    return false;
  }
  if (save) {
    try {
      save(ws.stream, data);
    } catch (e) {
      console.error(`line not saved: ${e.message}`);
      endPair(ws);
      return false;
    }
    ws.send(data, { binary: isBinary });
  }
  partner.send(data, { binary: isBinary });
  return true;
}

server.on('connection', (ws) => {
  ws.partner = null;
  ws.early = [];
  if (waiting && waiting.readyState === waiting.OPEN) {
    const first = waiting;
    waiting = null;
    first.partner = ws;
    ws.partner = first;
    pairs += 1;
    first.stream = ws.stream = `pair:${pairs}`;
    const early = first.early;
    first.early = [];
    for (const [data, isBinary] of early) if (!relay(first, data, isBinary)) break;
  } else {
    waiting = ws;
  }

  ws.on('message', (data, isBinary) => {
    if (!ws.partner) {
      if (ws.early.length >= MAX_EARLY_FRAMES) return endPair(ws);
      ws.early.push([data, isBinary]);
      return;
    }
    relay(ws, data, isBinary);
  });

  ws.on('close', () => {
    if (waiting === ws) waiting = null;
    if (ws.partner) endPair(ws);
  });
  ws.on('error', () => endPair(ws));
});

server.on('listening', () =>
  console.log(`node ws relay listening on 127.0.0.1:${port}${save ? ', committing every line first' : ''}`));
