//! A process's resident memory, CPU time, context switches and system calls, read from
//! /proc and `perf` (Linux only). The benchmark uses them for the server's memory per
//! connection and its CPU time, context switches and system calls per relayed message,
//! and for the generator's own CPU use.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kernel clock ticks per second in /proc/PID/stat. USER_HZ is fixed at 100 on every Linux
/// architecture userspace sees, so it needs no sysconf call.
const CLOCK_TICKS_PER_SEC: u64 = 100;

/// Whether `taskset` is here to pin a process to a core.
pub fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Resident set size in bytes (`VmRSS` in /proc/PID/status).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// User plus system CPU time the process has used (`utime + stime` in /proc/PID/stat).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_time_from_stat(&stat)
}

/// CPU time of this process.
pub fn own_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_time_from_stat(&stat)
}

fn cpu_time_from_stat(stat: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may contain spaces; the numbered
    // fields start after the last ')'. utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / CLOCK_TICKS_PER_SEC,
    ))
}

/// Context switches of every thread of the process so far, voluntary (waiting for work:
/// a wake-up each) and not (preempted), from `/proc/PID/task/*/status`.
pub fn context_switches(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        // A thread that ended between the listing and the read has nothing to add.
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        total += status
            .lines()
            .filter(|l| {
                l.starts_with("voluntary_ctxt_switches:")
                    || l.starts_with("nonvoluntary_ctxt_switches:")
            })
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Some(total)
}

/// Threads that do background work off the relay path: tokio's blocking pool (named
/// `tokio-rt-worker` in a current-thread runtime, where no worker has that name) and
/// candle's pool, where Uncover's reader embeds lines ahead of the debrief.
fn is_background(thread_name: &str) -> bool {
    thread_name.starts_with("tokio-rt-worker") || thread_name.starts_with("candle-bp")
}

/// CPU time of the process's background threads so far (see `is_background`).
pub fn background_cpu_time(pid: u32) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        if !is_background(name.trim()) {
            continue;
        }
        if let Some(cpu) = std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|stat| cpu_time_from_stat(&stat))
        {
            total += cpu;
        }
    }
    Some(total)
}

/// Counts a process's system calls (every thread it has when counting starts) with
/// `perf stat` on the `raw_syscalls:sys_enter` tracepoint. Needs `perf` and permission
/// to read tracepoints (root, or `perf_event_paranoid` at -1); without them, no count.
#[derive(Debug)]
pub struct SyscallCounter {
    perf: Child,
    output: PathBuf,
}

impl SyscallCounter {
    /// Starts counting `pid`'s system calls.
    pub fn start(pid: u32) -> Option<Self> {
        let output = std::env::temp_dir().join(format!(
            "uncover-bench-perf-{}-{pid}.csv",
            std::process::id()
        ));
        let perf = Command::new("perf")
            .args(["stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(&output)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(Self { perf, output })
    }

    /// Stops counting (perf prints its count on SIGINT) and returns the count.
    pub fn stop(mut self) -> Option<u64> {
        let interrupted = Command::new("kill")
            .args(["-INT", &self.perf.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !interrupted {
            let _ = self.perf.kill();
        }
        let _ = self.perf.wait();
        let csv = std::fs::read_to_string(&self.output).ok();
        let _ = std::fs::remove_file(&self.output);
        parse_perf_count(&csv?)
    }
}

/// The count on perf's `-x ,` line for the syscall tracepoint; none if it was not
/// counted (`<not supported>`, `<not counted>`).
fn parse_perf_count(csv: &str) -> Option<u64> {
    csv.lines()
        .find(|l| l.contains("raw_syscalls:sys_enter"))?
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// A point from which a process's CPU share can be measured.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    at: Instant,
    cpu: Duration,
}

impl CpuMark {
    /// Marks now for `pid`, or for this process when `pid` is `None`.
    pub fn now(pid: Option<u32>) -> Option<Self> {
        let cpu = match pid {
            Some(p) => cpu_time(p)?,
            None => own_cpu_time()?,
        };
        Some(Self {
            at: Instant::now(),
            cpu,
        })
    }

    /// CPU time used between `self` and `later`, and that as a percentage of one core.
    pub fn until(&self, later: &CpuMark) -> (Duration, f64) {
        let used = later.cpu.saturating_sub(self.cpu);
        let wall = later.at.saturating_duration_since(self.at).as_secs_f64();
        let percent = if wall > 0.0 {
            used.as_secs_f64() / wall * 100.0
        } else {
            0.0
        };
        (used, percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_fields_after_a_name_with_spaces() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(cpu_time_from_stat(stat), Some(Duration::from_secs(3)));
    }

    #[test]
    fn reads_this_process() {
        assert!(rss_bytes(std::process::id()).is_some_and(|b| b > 0));
        assert!(own_cpu_time().is_some());
        assert!(context_switches(std::process::id()).is_some());
    }

    #[test]
    fn reads_perfs_count_and_not_its_refusals() {
        let csv = "# started on Mon Nov 30\n\n123456,,raw_syscalls:sys_enter,8000000000,100.00,,\n";
        assert_eq!(parse_perf_count(csv), Some(123_456));
        let refused = "<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n";
        assert_eq!(parse_perf_count(refused), None);
    }
}
