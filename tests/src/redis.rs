//! A `redis-server` of a test's own: on a free loopback port, persistence off, its files in a
//! temporary directory; killed (and its directory removed) when dropped. It can be killed and
//! started again on the same port, keeping its data (saved first) or losing it.
//!
//! Only the standard library: `server/tests` include this file too (`#[path]`). `redis-server`
//! must be installed (`scripts/tools.sh`'s `ensure_redis`, Debian's `redis-server`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A running `redis-server`, or one stopped between a kill and a start.
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

static STARTED: AtomicU64 = AtomicU64::new(0);

impl RedisServer {
    /// Starts one on a free port; panics if `redis-server` cannot be run or never answers.
    pub fn start() -> RedisServer {
        let n = STARTED.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("tether-redis-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisServer {
                port,
                dir: dir.clone(),
                child: None,
            };
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start (is it installed? scripts/tools.sh ensure_redis)");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether it runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills it with SIGKILL, as a crash would; returns whether it was running.
    pub fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let running = matches!(child.try_wait(), Ok(None));
        let _ = child.kill();
        let _ = child.wait();
        running
    }

    /// Kills it and starts it again on the same port: with its data (saved to disk first, then
    /// loaded back) or without any. Returns whether the restart took effect: it was running,
    /// was killed, and answers again.
    pub fn restart(&mut self, keep_data: bool) -> bool {
        let saved = !keep_data || command(self.port, &["SAVE"]).is_some_and(|r| r == "+OK");
        let dump = self.dir.join("dump.rdb");
        let was_running = self.kill();
        if !keep_data {
            let _ = std::fs::remove_file(&dump);
        }
        let kept = !keep_data || dump.exists();
        saved && kept && was_running && self.start_again()
    }

    /// Starts it again on the same port after [`RedisServer::kill`]; whether it answers.
    pub fn start_again(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.spawn() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Starts the process and waits until it answers PING (10 s at most).
    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--unixsocket", "", "--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--dbfilename", "dump.rdb", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            return false;
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !self.is_running() {
                self.child = None;
                return false;
            }
            if command(self.port, &["PING"]).is_some_and(|r| r == "+PONG") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Sends one command to the Redis on `port`; its first answer line (`+PONG`, `-LOADING …`).
pub fn command(port: u16, args: &[&str]) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    Some(line.trim_end().to_owned())
}
