#!/usr/bin/env bash
# Counts the user-space instructions a server executes per relayed message, with
# `valgrind --tool=callgrind`: a figure that repeats on a noisy machine, unlike CPU time
# (`../shared/BENCHMARKING.md`). The server runs twice under callgrind, side by side, with
# the same pairs and rate but a short and a long steady period; the difference in
# instructions over the difference in messages sent leaves start-up and connection costs
# out.
#
#   tests/bench/callgrind.sh uncover      # also: bare, bare-echo, node, node-durable
#   PAIRS=50 RATE=1 SHORT=10 LONG=30 tests/bench/callgrind.sh uncover   # the defaults
#   UNCOVER_BIN=path/to/uncover tests/bench/callgrind.sh uncover      # another build
#   UNCOVER_DATA=:memory: tests/bench/callgrind.sh uncover   # the in-memory log, to see
#                                                            # what the SQLite log costs
#
# Uncover runs single-threaded (`--threads 1`, as on one core) with one small scenario
# (tests/bench/callgrind-scenario.toml): the reader embeds every scenario's examples at
# start, which takes many minutes under valgrind for the bundled ones. It also runs with
# `--no-read-ahead`: otherwise every seller line the generator sends is embedded in the
# background by the model (tens of millions of instructions each under valgrind, which
# runs one thread at a time), the relay falls behind and lines are lost, so no figure
# comes out. The read-ahead is a background job with its own CPU budget, not part of
# relaying a line. Threads that ran any candle code are still left out of the count and
# reported apart. Instrumentation starts once the server is ready; fair scheduling keeps
# any spinning pool from starving the relay.
# Prints `instructions per message: N` last. Build first (`make bench` does).
set -euo pipefail
cd "$(dirname "$0")/../.."

server=${1:?usage: tests/bench/callgrind.sh uncover|bare|bare-echo|node|node-durable}
pairs=${PAIRS:-50}
rate=${RATE:-1}
short=${SHORT:-10}
long=${LONG:-30}
port=${PORT:-18281}
out=${CALLGRIND_OUT:-target/bench/callgrind}
mkdir -p "$out"
rm -rf "${out:?}/$server".*
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed" >&2; exit 2; }

# One run: the server under callgrind on `port` for `steady` seconds of load; prints
# "<relay-path instructions> <reader instructions> <messages sent> <lost>".
run_once() {
  local steady=$1 port=$2 prefix="$out/$server.$1" url target args scenario=() server_pid
  trap '[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true' EXIT
  case "$server" in
    uncover)
      args=("${UNCOVER_BIN:-target/release/uncover}" --bind "127.0.0.1:$port" --threads 1 --no-read-ahead
        --data "${UNCOVER_DATA:-$prefix.sqlite}" --scenarios "$out/scenarios")
      scenario=(--scenario callgrind)
      url="ws://127.0.0.1:$port/ws"; target=uncover ;;
    bare|bare-echo)
      args=(target/release/bare_relay --bind "127.0.0.1:$port")
      [ "$server" = bare-echo ] && args+=(--echo)
      url="ws://127.0.0.1:$port/"; target=relay ;;
    node)
      args=(node tests/bench/node-relay/relay.js "$port")
      url="ws://127.0.0.1:$port/"; target=relay ;;
    node-durable)
      args=(node tests/bench/node-relay/relay.js "$port" "$prefix.sqlite")
      url="ws://127.0.0.1:$port/"; target=relay ;;
    *) echo "unknown server: $server" >&2; exit 2 ;;
  esac
  : >"$prefix.log"
  valgrind --tool=callgrind --separate-threads=yes --trace-children=no --instr-atstart=no \
    --fair-sched=yes \
    --callgrind-out-file="$prefix.out.%p" "${args[@]}" >"$prefix.log" 2>&1 &
  server_pid=$!
  # Uncover listens before it is ready, and says when it is.
  for _ in $(seq 1 1200); do
    if [ "$server" = uncover ]; then
      grep -q "Press Ctrl+C" "$prefix.log" && break
    else
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    fi
    sleep 0.5
  done
  callgrind_control --instr=on "$server_pid" >/dev/null 2>&1
  target/release/loadgen --url "$url" --target "$target" --pairs "$pairs" "${scenario[@]}" \
    --rate "$rate" --ramp-secs 4 --steady-secs "$steady" --drain-secs 30 --json \
    >"$prefix.json" 2>"$prefix.loadgen.log" || true
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  python3 - "$prefix" "$prefix.json" <<'PY'
import glob, json, sys
prefix, report = sys.argv[1], sys.argv[2]
relay = reader = 0
for path in glob.glob(prefix + ".out.*"):
    text = open(path, errors="replace").read()
    total = 0
    for line in text.splitlines():
        if line.startswith("summary:"):
            total = int(line.split()[1])
            break
    if "candle" in text:
        reader += total
    else:
        relay += total
try:
    r = json.load(open(report))
    print(relay, reader, r["sent"], r["lost"])
except ValueError:
    print(relay, reader, 0, -1)
PY
}

# Copied once, before the two runs start side by side: two copies into one folder at the
# same moment can fail with "File exists".
if [ "$server" = uncover ]; then
  mkdir -p "$out/scenarios"
  cp tests/bench/callgrind-scenario.toml "$out/scenarios/"
fi
run_once "$short" "$port" >"$out/$server.short.txt" &
short_run=$!
run_once "$long" "$((port + 1))" >"$out/$server.long.txt"
wait "$short_run" || true
read -r relay_s reader_s sent_s lost_s <"$out/$server.short.txt"
read -r relay_l reader_l sent_l lost_l <"$out/$server.long.txt"
echo "$server: $pairs pairs at $rate msg/s per side; ${short} s run: $relay_s instructions, $sent_s messages sent, $lost_s lost; ${long} s run: $relay_l instructions, $sent_l sent, $lost_l lost"
if [ "$reader_s$reader_l" != "00" ]; then
  echo "$server: the reader's threads, left out: $reader_s and $reader_l instructions"
fi
if [ "$lost_s" != 0 ] || [ "$lost_l" != 0 ]; then
  # Instructions for lines never relayed would understate the cost per line.
  echo "instructions per message: unknown (lines were lost: under valgrind the server could not keep up; see $out)"
  exit 1
fi
python3 -c "import sys; d=int(sys.argv[2])-int(sys.argv[1]); m=int(sys.argv[4])-int(sys.argv[3]); print(f'instructions per message: {d/m:.0f}' if m > 0 else 'instructions per message: unknown (no more messages in the long run)')" \
  "$relay_s" "$relay_l" "$sent_s" "$sent_l"
