//! A process's resident memory and CPU time, read from /proc (Linux only). The benchmark
//! uses them for the server's memory per connection and CPU time per relayed message, and
//! for the generator's own CPU use.

use std::time::{Duration, Instant};

/// Kernel clock ticks per second in /proc/PID/stat. USER_HZ is fixed at 100 on every Linux
/// architecture userspace sees, so it needs no sysconf call.
const CLOCK_TICKS_PER_SEC: u64 = 100;

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
    }
}
