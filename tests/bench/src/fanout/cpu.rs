//! Where the CPU goes: this process's threads from `/proc/self/task/*/stat`, split between the
//! main thread (where every client runs, on a `LocalSet`) and the others (the stub's tokio
//! workers, and the HTTP client of the test control), and the whole machine from `/proc/stat`,
//! so that other processes' load shows too.

use std::fmt;
use std::time::Instant;

/// Linux reports CPU times in clock ticks of 1/100 s (USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used so far: by the main thread, by this process's other threads, and by the
/// whole machine.
#[derive(Clone, Copy)]
pub struct Sample {
    at: Instant,
    main: f64,
    others: f64,
    machine: f64,
}

/// Shares of one core used over an interval, in percent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Use {
    /// The clients' thread.
    pub clients: f64,
    /// The stub (this process's other threads).
    pub stub: f64,
    /// Every other process on the machine.
    pub elsewhere: f64,
    /// The machine's cores, times 100.
    pub capacity: f64,
}

impl Use {
    /// "clients/stub/others" in percent of a core.
    pub fn short(&self) -> String {
        format!("{:.0}/{:.0}/{:.0}", self.clients, self.stub, self.elsewhere)
    }

    /// Everything in use, in percent of one core.
    pub fn total(&self) -> f64 {
        self.clients + self.stub + self.elsewhere
    }
}

impl fmt::Display for Use {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CPU {:.0}% of {:.0}%: clients' thread {:.0}%, stub {:.0}%, other processes {:.0}%",
            self.total(),
            self.capacity,
            self.clients,
            self.stub,
            self.elsewhere
        )
    }
}

/// `utime + stime` of one thread, in seconds.
fn thread_seconds(stat: &str) -> Option<f64> {
    // The fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Busy seconds of the whole machine: every field of `/proc/stat`'s `cpu` line but idle and
/// iowait (guest time is already counted in user time).
fn machine_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let busy: f64 = f
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    busy / TICKS_PER_SECOND
}

/// The CPU time of every thread, and of the machine, now.
pub fn sample() -> Sample {
    let pid = std::process::id().to_string();
    let (mut main, mut others) = (0.0, 0.0);
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            let seconds = thread_seconds(&stat).unwrap_or(0.0);
            if task.file_name().to_string_lossy() == pid {
                main += seconds;
            } else {
                others += seconds;
            }
        }
    }
    Sample {
        at: Instant::now(),
        main,
        others,
        machine: machine_seconds(),
    }
}

impl Sample {
    /// The CPU used since `earlier`.
    pub fn since(&self, earlier: &Sample) -> Use {
        let wall = self.at.duration_since(earlier.at).as_secs_f64().max(1e-3);
        let pct = |now: f64, then: f64| 100.0 * (now - then) / wall;
        let (clients, stub) = (
            pct(self.main, earlier.main),
            pct(self.others, earlier.others),
        );
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Use {
            clients,
            stub,
            elsewhere: (pct(self.machine, earlier.machine) - clients - stub).max(0.0),
            capacity: 100.0 * cores as f64,
        }
    }
}
