#!/usr/bin/env bash
# Counts the system calls a server makes per relayed message under steady load, with
# `perf stat` on its syscall tracepoints: where a server's kernel time goes, by call.
# Needs `perf` and permission to read tracepoints (root, or perf_event_paranoid <= -1).
#
#   tests/bench/syscalls.sh uncover      # Uncover with a fresh SQLite log
#   tests/bench/syscalls.sh bare         # the bare relay
#   tests/bench/syscalls.sh bare-echo    # the bare relay echoing to the sender
#   PAIRS=1000 RATE=5 tests/bench/syscalls.sh uncover   # 10,000 msg/s (the default)
#   UNCOVER_BIN=path/to/uncover tests/bench/syscalls.sh uncover   # another build
#
# The server runs on core 0 and the generator on core 1, as in `make bench`; perf counts
# for COUNT_SECS in the middle of the steady window. Build first: `make bench` or
# `cargo build --release -p uncover -p uncover-tests --bins`.
set -euo pipefail
cd "$(dirname "$0")/../.."

server=${1:?usage: tests/bench/syscalls.sh uncover|bare|bare-echo}
pairs=${PAIRS:-1000}
rate=${RATE:-5}
steady=${STEADY_SECS:-20}
count_secs=${COUNT_SECS:-8}
port=${PORT:-18181}
out=target/bench
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

case "$server" in
  uncover)
    rm -f "$out"/syscalls.sqlite*
    taskset -c 0 "${UNCOVER_BIN:-target/release/uncover}" --bind "127.0.0.1:$port" --data "$out/syscalls.sqlite" \
      >"$out/syscalls-server.log" 2>&1 &
    url="ws://127.0.0.1:$port/ws"; target=uncover ;;
  bare|bare-echo)
    echo_flag=(); [ "$server" = bare-echo ] && echo_flag=(--echo)
    taskset -c 0 target/release/bare_relay --bind "127.0.0.1:$port" "${echo_flag[@]}" \
      >"$out/syscalls-server.log" 2>&1 &
    url="ws://127.0.0.1:$port/"; target=relay ;;
  *) echo "unknown server: $server (uncover, bare or bare-echo)" >&2; exit 2 ;;
esac
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
sleep 1

taskset -c 1 target/release/loadgen --url "$url" --target "$target" --pairs "$pairs" \
  --rate "$rate" --steady-secs "$steady" --server-pid "$server_pid" >"$out/syscalls-loadgen.txt" 2>&1 &
loadgen_pid=$!

# Setup, ramp and half the steady window's slack before counting starts.
sleep $(( 6 + (steady - count_secs) / 2 ))
events=sendto,write,recvfrom,epoll_wait,futex,pwrite64,pread64
tracepoints=$(echo "$events" | sed 's/\([a-z0-9_]*\)/syscalls:sys_enter_\1/g')
perf stat -x, -e "$tracepoints,raw_syscalls:sys_enter,context-switches" -p "$server_pid" \
  -- sleep "$count_secs" 2>"$out/syscalls-perf.csv"
wait "$loadgen_pid"
grep -E "^steady|^relay latency|^server: CPU" "$out/syscalls-loadgen.txt"

messages=$(awk -v s="$count_secs" -v p="$pairs" -v r="$rate" 'BEGIN { print s * p * 2 * r }')
echo "$server: per relayed message over $count_secs s ($messages messages offered):"
awk -F, -v m="$messages" '$1 ~ /^[0-9]+$/ {
  name = $3; sub(/^syscalls:sys_enter_/, "", name); sub(/^raw_syscalls:sys_enter$/, "all system calls", name)
  printf "  %-18s %6.2f\n", name, $1 / m }' "$out/syscalls-perf.csv"
