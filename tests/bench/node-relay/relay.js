// The Node baseline for Uncover's benchmark: what a team might write instead of Uncover's
// server. Pairs websocket connections in the order their handshakes complete and forwards
// every frame unchanged to the partner, with npm's `ws` and nothing else.
//
// Usage: node relay.js [port] (default 9002, bound to 127.0.0.1).

'use strict';

const { WebSocketServer } = require('ws');

// Same bound as Uncover's outbox and the Rust relay: 256 frames of ~256 bytes. A partner
// with more than this waiting to go out reads too slowly, and the pair is closed.
const MAX_BUFFERED_BYTES = 256 * 256;
// Frames kept for a socket that speaks before its partner arrives.
const MAX_EARLY_FRAMES = 256;
// Chat frames are small; refuse anything abusive, as the Rust servers do.
const MAX_PAYLOAD_BYTES = 64 * 1024;

const port = Number(process.argv[2] || 9002);
const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  maxPayload: MAX_PAYLOAD_BYTES,
  clientTracking: false,
});

let waiting = null;

function endPair(ws) {
  const partner = ws.partner;
  ws.partner = null;
  if (partner) {
    partner.partner = null;
    partner.terminate();
  }
  ws.terminate();
}

server.on('connection', (ws) => {
  ws.partner = null;
  ws.early = [];
  if (waiting && waiting.readyState === waiting.OPEN) {
    const first = waiting;
    waiting = null;
    first.partner = ws;
    ws.partner = first;
    for (const [data, isBinary] of first.early) ws.send(data, { binary: isBinary });
    first.early = [];
  } else {
    waiting = ws;
  }

  ws.on('message', (data, isBinary) => {
    const partner = ws.partner;
    if (!partner) {
      if (ws.early.length >= MAX_EARLY_FRAMES) return endPair(ws);
      ws.early.push([data, isBinary]);
      return;
    }
    if (partner.bufferedAmount > MAX_BUFFERED_BYTES) return endPair(ws);
    partner.send(data, { binary: isBinary });
  });

  ws.on('close', () => {
    if (waiting === ws) waiting = null;
    if (ws.partner) endPair(ws);
  });
  ws.on('error', () => endPair(ws));
});

server.on('listening', () => console.log(`node ws relay listening on 127.0.0.1:${port}`));
