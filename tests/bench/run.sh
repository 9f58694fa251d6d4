#!/usr/bin/env bash
# Runs Uncover's benchmark (`make bench`): builds the release binaries, installs the Node
# relays' pinned `ws` and `better-sqlite3`, then starts the bench runner pinned to core 1;
# the runner starts each server, fresh for every run, pinned to core 0. Prints one table;
# every run's full report lands in target/bench/results.json.
#
#   tests/bench/run.sh                  # quick: 15 s steady per realistic run (~22 min)
#   BENCH_FULL=1 tests/bench/run.sh     # the issue's 60 s steady periods (~40 min)
#   tests/bench/run.sh --help           # choose servers, pair counts, rates, durations
#   tests/bench/run.sh --reader-only    # only the reader's section (~2 min; also BENCH_READER_ONLY=1)
#
# Then the user-space instructions per relayed message under callgrind
# (tests/bench/callgrind.sh: minutes a server, ten or more for Uncover;
# BENCH_CALLGRIND_SERVERS picks them, default "uncover bare-echo"; BENCH_CALLGRIND=0
# skips it).
#
# After the relay benchmark comes the reader's section (target/release/bench_reader, issue
# 13's targets: encoding time, model memory, workshop debriefs, chat p99 beside bot rooms).
# BENCH_READER_ARGS passes options to it (see `target/release/bench_reader --help`).
set -euo pipefail
cd "$(dirname "$0")/../.."

reader_only=${BENCH_READER_ONLY:-}
if [ "${1:-}" = "--reader-only" ]; then
  reader_only=1
  shift
fi

cargo build --release -q -p uncover -p uncover-tests --bins
# better-sqlite3 (the durable Node relay) builds its native module from source when no
# prebuilt one fits this Node: a few minutes, once.
if [ -z "$reader_only" ] && [ ! -d tests/bench/node-relay/node_modules/better-sqlite3 ]; then
  (cd tests/bench/node-relay && npm ci --no-audit --no-fund --loglevel=error)
fi

# Each connection is one open file: 5,000 pairs need 10,000 in the generator and the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

load=$(cut -d' ' -f1 /proc/loadavg)
echo "bench: $(nproc) cores, load average $load (figures taken above ~0.5 are measured under contention)" >&2

pinned=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  pinned="taskset -c 1"
else
  echo "bench: taskset or a second core is missing; server and generator share the machine" >&2
fi

status=0
if [ -z "$reader_only" ]; then
  $pinned target/release/bench --server-core 0 "$@" || status=$?
fi

if [ -z "$reader_only" ] && [ "${BENCH_CALLGRIND:-1}" != 0 ]; then
  echo >&2
  echo "bench: user-space instructions per relayed message (callgrind, 50 pairs at 1 msg/s per side, 30 s run minus 10 s run)" >&2
  for server in ${BENCH_CALLGRIND_SERVERS:-uncover bare-echo}; do
    tests/bench/callgrind.sh "$server" | tail -n 1 | sed "s/^/  $server: /" || status=$?
  done
fi

echo >&2
echo "bench: the reader's section (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
# shellcheck disable=SC2086 # word splitting of the options is intended
$pinned target/release/bench_reader --server-core 0 ${BENCH_READER_ARGS:-} || status=$?
exit "$status"
