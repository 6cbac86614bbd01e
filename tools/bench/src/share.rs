//! A CPU share as Lambda gives one: a cgroup v1 `cpu` quota of a memory
//! size's share of one CPU, into which a function process is started.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;

/// Lambda's CPU: one vCPU at this memory size.
const FULL_CPU_MB: u64 = 1769;
const CGROUP_ROOT: &str = "/sys/fs/cgroup/cpu";

/// The quota's period, ms: `BENCH_QUOTA_PERIOD_MS`, 100 (the kernel's
/// default, and every figure before the setting) unless set. Lambda's own has
/// been observed from outside to be 20 ms; a shorter period spreads the same
/// share more finely, which decides at small memory sizes.
pub fn period_ms() -> u64 {
    match std::env::var("BENCH_QUOTA_PERIOD_MS") {
        Err(_) => 100,
        Ok(v) => match v.parse() {
            // The kernel takes 1 ms to 1 s.
            Ok(ms @ 1..=1000) => ms,
            _ => panic!("BENCH_QUOTA_PERIOD_MS: whole milliseconds, 1 to 1000 (got {v:?})"),
        },
    }
}

/// A cgroup v1 `cpu` quota of `mb`'s share of one CPU.
pub struct CpuShare {
    mb: u64,
    dir: PathBuf,
    procs: std::ffi::CString,
    quota: u64,
}

impl CpuShare {
    /// `None` (with the reason) where cgroups cannot be made: not root, or no
    /// cgroup v1 `cpu` controller.
    pub fn new(mb: u64) -> Result<Self, String> {
        let dir = PathBuf::from(CGROUP_ROOT).join(format!("token-issuer-bench-{mb}"));
        let period = period_ms() * 1000;
        let quota = period * mb / FULL_CPU_MB;
        let made = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(dir.join("cpu.cfs_period_us"), period.to_string()))
            .and_then(|_| std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string()));
        made.map_err(|e| format!("{}: {e}", dir.display()))?;
        let procs = std::ffi::CString::new(dir.join("cgroup.procs").to_string_lossy().as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            mb,
            dir,
            procs,
            quota,
        })
    }

    /// The memory size whose share this is: what the function is told it has.
    pub fn mb(&self) -> u64 {
        self.mb
    }

    /// Lifts the quota (a whole CPU, or more), until [`CpuShare::throttle`].
    pub fn unthrottle(&self) {
        let _ = std::fs::write(self.dir.join("cpu.cfs_quota_us"), "-1");
    }

    /// Puts the memory size's quota back; takes effect at once (unlike a
    /// move into the group).
    pub fn throttle(&self) {
        (self.throttler())();
    }

    /// [`CpuShare::throttle`], to be run later from elsewhere.
    pub fn throttler(&self) -> impl FnOnce() + Send + 'static {
        let (file, quota) = (self.dir.join("cpu.cfs_quota_us"), self.quota);
        move || {
            let _ = std::fs::write(file, quota.to_string());
        }
    }

    /// Moves the child into this group between fork and exec: only
    /// async-signal-safe calls there (open, write, close).
    pub fn confine(&self, cmd: &mut tokio::process::Command) {
        let path = self.procs.clone();
        // SAFETY: the closure runs in the forked child before exec and makes
        // only raw system calls on memory prepared before the fork.
        unsafe {
            cmd.as_std_mut().pre_exec(move || {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // In cgroup v1, "0" moves the writing process.
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if n == 1 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}
