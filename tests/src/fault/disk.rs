//! A small disk that really fills: a tmpfs mounted in a mount namespace of its own, so
//! nothing outside the test sees it and it goes away with the test, even after a crash.
//! A `sleep` keeps the namespace alive; servers and fillers enter it with `nsenter`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A tmpfs of a few MiB in a private mount namespace.
pub struct SmallDisk {
    keeper: Child,
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (as `mount -o size=` spells it, e.g. `8m`) on a new
    /// folder; `Err` says why it could not (no `unshare`, no right to mount, or
    /// `UNCOVER_TEST_NO_TMPFS` set to try the fallback).
    pub fn mount(name: &str, size: &str) -> Result<Self, String> {
        if std::env::var_os("UNCOVER_TEST_NO_TMPFS").is_some() {
            return Err("UNCOVER_TEST_NO_TMPFS is set".to_owned());
        }
        let dir = std::env::temp_dir().join(format!("uncover-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let script = format!(
            "mount -t tmpfs -o size={size},mode=0700 tmpfs \"$0\" && echo mounted && exec sleep 900"
        );
        let mut keeper = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run unshare: {e}"))?;
        let stdout = keeper.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim() != "mounted" {
            let _ = keeper.kill();
            let out = keeper.wait_with_output().map_err(|e| e.to_string())?;
            let _ = std::fs::remove_dir(&dir);
            return Err(format!(
                "unshare/mount failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { keeper, dir })
    }

    /// The folder the tmpfs is mounted on (inside the namespace).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The command and arguments that run a program inside the namespace.
    pub fn enter(&self) -> Vec<String> {
        vec![
            "nsenter".to_owned(),
            format!("--mount=/proc/{}/ns/mnt", self.keeper.id()),
            "--".to_owned(),
        ]
    }

    /// Runs `script` with `sh -c` inside the namespace; its standard output.
    pub fn sh(&self, script: &str) -> String {
        let enter = self.enter();
        let out = Command::new(&enter[0])
            .args(&enter[1..])
            .args(["sh", "-c", script])
            .output()
            .expect("nsenter runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Fills what is left of the disk with a file.
    pub fn fill(&self) {
        self.sh(&format!(
            "cat /dev/zero > '{}/filler' 2>/dev/null",
            self.dir.display()
        ));
    }

    /// Gives the space back.
    pub fn free(&self) {
        self.sh(&format!("rm -f '{}/filler'", self.dir.display()));
    }

    /// Free space in KiB, as `df` sees it inside the namespace.
    pub fn free_kib(&self) -> u64 {
        self.sh(&format!(
            "df -k --output=avail '{}' | tail -1",
            self.dir.display()
        ))
        .trim()
        .parse()
        .unwrap_or(0)
    }
}

impl Drop for SmallDisk {
    /// The namespace, and with it the tmpfs, ends with its last process.
    fn drop(&mut self) {
        let _ = self.keeper.kill();
        let _ = self.keeper.wait();
        let _ = std::fs::remove_dir(&self.dir);
    }
}
