//! A real PgBouncer (Debian's `pgbouncer` package) in transaction mode, in front of the test
//! PostgreSQL, on a free port of its own: what Neon's pooled endpoint (`-pooler` hosts) and
//! Supabase's pooler in transaction mode are. Debian's 1.18 does not track protocol-level
//! prepared statements, so it is also the strictest pooler a server can meet.
//!
//! Outside CI a machine without PgBouncer skips these tests (saying so); in CI (`CI` or
//! `TODO_API_REQUIRE_POSTGRES` set) a missing PgBouncer is a failure, never a skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::pg;

/// A running PgBouncer, stopped when dropped.
pub struct PgBouncer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// Where the binary is: `PGBOUNCER` if set, else Debian's path, else `pgbouncer` on PATH.
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

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl PgBouncer {
    /// Starts PgBouncer in transaction mode against the test PostgreSQL (`TEST_POSTGRES_URL`'s
    /// host and port, 127.0.0.1:5432 by default), every database passed through. `None` when
    /// it is not installed outside CI (the test then returns); a panic in CI.
    pub fn start() -> Option<PgBouncer> {
        let Some(binary) = binary() else {
            if pg::required() {
                panic!(
                    "PgBouncer is required (CI) but not installed: apt-get install -y pgbouncer"
                );
            }
            eprintln!("SKIPPED: PgBouncer not installed (apt-get install -y pgbouncer)");
            return None;
        };
        let admin = url::Url::parse(&pg::admin_url()).expect("TEST_POSTGRES_URL parses");
        let host = admin.host_str().unwrap_or("127.0.0.1").to_owned();
        let upstream_port = admin.port().unwrap_or(5432);
        let user = match admin.username() {
            "" => "postgres".to_owned(),
            name => name.to_owned(),
        };

        let dir = tempfile::tempdir().expect("a scratch directory");
        let port = free_port();
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
                 admin_users = {user}\n\
                 pool_mode = transaction\n\
                 max_client_conn = 1000\n\
                 default_pool_size = 20\n\
                 server_reset_query =\n\
                 ignore_startup_parameters = extra_float_digits,options,application_name\n\
                 logfile = {log}\n",
                users = users.display(),
                log = dir.path().join("pgbouncer.log").display(),
            ),
        )
        .expect("PgBouncer config");

        let mut command = Command::new(&binary);
        if running_as_root() {
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
        let mut bouncer = PgBouncer { port, child, dir };
        bouncer.wait_until_listening();
        Some(bouncer)
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("PgBouncer exited at start ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("PgBouncer did not listen within 10 s: {}", self.log());
    }

    /// The URL of `database` through the pooler.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// What PgBouncer logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
