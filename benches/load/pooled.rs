//! The pooled variant: the server's `DATABASE_URL` through a PgBouncer in transaction mode
//! (Debian's `pgbouncer`, as the tests' `common::pgbouncer` starts it), on a free port of its
//! own, with the direct URL for what a transaction pooler cannot carry (LISTEN, migrations).
//! The pooler keeps as many server connections as the server's pool (POOL_SIZE) and closes
//! them after a second idle, so that pgbench, measured between the servers' slices, has the
//! database's connection slots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::POOL_SIZE;

/// A running PgBouncer, stopped when dropped.
pub struct PgBouncer {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// `PGBOUNCER` if set, else Debian's path, else `pgbouncer` on PATH.
fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PGBOUNCER") {
        return Some(PathBuf::from(path));
    }
    let debian = Path::new("/usr/sbin/pgbouncer");
    if debian.exists() {
        return Some(debian.to_owned());
    }
    let found = Command::new("sh")
        .args(["-c", "command -v pgbouncer"])
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

impl PgBouncer {
    /// In front of `upstream` (a postgres:// URL), or `None` (saying why) when PgBouncer is not
    /// installed.
    pub fn start(upstream: &str) -> Option<PgBouncer> {
        let Some(binary) = binary() else {
            println!("  pooled: skipped (PgBouncer not installed: apt-get install -y pgbouncer)");
            return None;
        };
        let upstream = url::Url::parse(upstream).expect("the database URL parses");
        let host = upstream.host_str().unwrap_or("127.0.0.1").to_owned();
        let upstream_port = upstream.port().unwrap_or(5432);
        let user = match upstream.username() {
            "" => "postgres".to_owned(),
            name => name.to_owned(),
        };
        let dir = tempfile::tempdir().expect("a scratch directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = dir.path().join("pgbouncer.ini");
        let users = dir.path().join("users.txt");
        std::fs::write(&users, format!("\"{user}\" \"\"\n")).expect("users file");
        std::fs::write(
            &config,
            format!(
                "[databases]\n\
                 * = host={host} port={upstream_port}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {users}\n\
                 pool_mode = transaction\n\
                 max_client_conn = 1000\n\
                 default_pool_size = {POOL_SIZE}\n\
                 server_idle_timeout = 1\n\
                 server_reset_query =\n\
                 ignore_startup_parameters = extra_float_digits,options,application_name\n\
                 logfile = {log}\n",
                users = users.display(),
                log = dir.path().join("pgbouncer.log").display(),
            ),
        )
        .expect("PgBouncer config");
        let mut command = Command::new(&binary);
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        if root {
            // PgBouncer refuses to run as root; it drops to this user after reading its files.
            let _ = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status();
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        crate::PIDS.lock().unwrap().push(child.id());
        let mut bouncer = PgBouncer { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", bouncer.port)).is_err() {
            if let Ok(Some(status)) = bouncer.child.try_wait() {
                panic!("PgBouncer exited at start ({status}): {}", bouncer.log());
            }
            assert!(
                Instant::now() < deadline,
                "PgBouncer did not listen within 10 s: {}",
                bouncer.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(bouncer)
    }

    /// `direct` (a postgres:// URL of the bench's database) through the pooler.
    pub fn url(&self, direct: &str) -> String {
        let mut url = url::Url::parse(direct).expect("the database URL parses");
        url.set_host(Some("127.0.0.1")).expect("a host");
        url.set_port(Some(self.port)).expect("a port");
        url.to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
