//! A private PostgreSQL 15 cluster that one test starts, stops and restarts by itself, with TLS
//! from a CA and a leaf certificate for `localhost` made here.
//!
//! The machine's shared PostgreSQL cannot be stopped or reconfigured by a test, so TLS and
//! "database down" behaviour are tested against this one. `pg_hba.conf` accepts TCP only as
//! `hostssl` (SCRAM passwords, so `channel_binding=require` works as on Neon): a connection that
//! gets in is proven to be encrypted. The test itself talks to the cluster over its unix socket
//! (trust), which needs no TLS. Tests run as root and postgres refuses root, so every server
//! command runs as the `postgres` user in a temp dir it owns. Dropping the cluster kills the
//! server and deletes the directory.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// The password of the cluster's superuser `postgres` over TCP.
pub const PASSWORD: &str = "cluster-test-password";

/// How long `pg_ctl` may take to start or stop the server before the test fails.
const PG_CTL_WAIT_SECS: &str = "60";

/// A running (or stopped) private PostgreSQL server.
pub struct PgCluster {
    /// The TCP port it listens on (`localhost` only).
    pub port: u16,
    /// The CA certificate (PEM) that signed the server's certificate: the right `sslrootcert`.
    pub ca_cert: PathBuf,
    /// A CA certificate that did *not* sign the server's certificate: a wrong `sslrootcert`.
    pub other_ca_cert: PathBuf,
    dir: tempfile::TempDir,
}

/// A CA certificate, its signing identity and its PEM.
pub fn make_ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("CA certificate");
    (Issuer::new(params, key), cert.pem())
}

/// The server's leaf certificate for `localhost` (not 127.0.0.1, so a URL naming the address
/// fails `verify-full`), signed by `ca`: (certificate PEM, key PEM).
pub fn make_leaf(ca: &Issuer<'static, KeyPair>) -> (String, String) {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::ExplicitNoCa;
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, ca).expect("leaf certificate");
    (cert.pem(), key.serialize_pem())
}

/// A TCP port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// The `postgres` user's uid and gid, which own the cluster's files.
fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = std::process::Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("id {flag} postgres: {text:?}"))
    };
    (id("-u"), id("-g"))
}

fn write_owned(path: &Path, contents: &str, mode: u32, owner: (u32, u32)) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1)).expect("chown to postgres");
}

/// Runs a PostgreSQL program as the `postgres` user and fails the test with its output.
async fn run_as_postgres(program: &str, args: &[&str]) -> Result<(), String> {
    let output = tokio::process::Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{BIN}/{program}")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {args:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// `pg_ctl start` for the cluster in `dir`, waiting until it accepts connections; the
/// server log is in the error.
async fn pg_ctl_start(dir: &Path) -> Result<(), String> {
    let data = dir.join("data");
    let log = dir.join("server.log");
    run_as_postgres(
        "pg_ctl",
        &[
            "-D",
            &data.to_string_lossy(),
            "-l",
            &log.to_string_lossy(),
            "-w",
            "-t",
            PG_CTL_WAIT_SECS,
            "start",
        ],
    )
    .await
    .map_err(|e| {
        format!(
            "{e}\nserver log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    })
}

impl PgCluster {
    /// Makes the certificates, runs initdb, configures TLS and starts the server.
    pub async fn start_new() -> PgCluster {
        let owner = postgres_ids();
        let dir = tempfile::Builder::new()
            .prefix("todo-pg-")
            .tempdir()
            .expect("temp dir");
        std::os::unix::fs::chown(dir.path(), Some(owner.0), Some(owner.1)).expect("chown temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let path = dir.path();

        let (ca, ca_pem) = make_ca("todo-api test CA");
        let (_, other_ca_pem) = make_ca("some other CA");
        let (leaf_pem, leaf_key) = make_leaf(&ca);
        write_owned(&path.join("ca.crt"), &ca_pem, 0o644, owner);
        write_owned(&path.join("other-ca.crt"), &other_ca_pem, 0o644, owner);
        write_owned(&path.join("server.crt"), &leaf_pem, 0o644, owner);
        // postgres refuses a key that others can read.
        write_owned(&path.join("server.key"), &leaf_key, 0o600, owner);
        write_owned(&path.join("pwfile"), PASSWORD, 0o600, owner);
        let socket_dir = path.join("sock");
        std::fs::create_dir(&socket_dir).expect("socket dir");
        std::os::unix::fs::chown(&socket_dir, Some(owner.0), Some(owner.1))
            .expect("chown socket dir");

        let data = path.join("data");
        run_as_postgres(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--pwfile",
                &path.join("pwfile").to_string_lossy(),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));

        let hba = "# Written by the test cluster: TCP only over TLS, so a connection proves TLS.\n\
                   local   all all                 trust\n\
                   hostssl all all 127.0.0.1/32    scram-sha-256\n\
                   hostssl all all ::1/128         scram-sha-256\n";
        write_owned(&data.join("pg_hba.conf"), hba, 0o600, owner);

        // A port can be taken between choosing it and binding it: try a few.
        let base_conf =
            std::fs::read_to_string(data.join("postgresql.conf")).expect("postgresql.conf");
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = format!(
                "{base_conf}\n# Test cluster settings\n\
                 port = {port}\n\
                 listen_addresses = 'localhost'\n\
                 unix_socket_directories = '{sock}'\n\
                 ssl = on\n\
                 ssl_cert_file = '{dir}/server.crt'\n\
                 ssl_key_file = '{dir}/server.key'\n\
                 fsync = off\n\
                 max_connections = 50\n",
                sock = socket_dir.display(),
                dir = path.display(),
            );
            write_owned(&data.join("postgresql.conf"), &conf, 0o600, owner);
            match pg_ctl_start(path).await {
                Ok(()) => {
                    return PgCluster {
                        port,
                        ca_cert: path.join("ca.crt"),
                        other_ca_cert: path.join("other-ca.crt"),
                        dir,
                    };
                }
                Err(e) => failures.push(e),
            }
        }
        panic!(
            "the test PostgreSQL did not start:\n{}",
            failures.join("\n")
        );
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// Starts the (stopped) server again on the same port.
    pub async fn start(&self) {
        pg_ctl_start(self.dir.path())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops the server: `fast` ends open sessions at once, as a crash or failover would for
    /// the clients.
    pub async fn stop(&self) {
        run_as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir().to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "-t",
                PG_CTL_WAIT_SECS,
                "stop",
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops and starts the server.
    pub async fn restart(&self) {
        self.stop().await;
        self.start().await;
    }

    /// A URL the application would be given: TCP to `host`, password auth, extra parameters.
    pub fn url(&self, host: &str, params: &str) -> String {
        let sep = if params.is_empty() { "" } else { "?" };
        format!(
            "postgresql://postgres:{PASSWORD}@{host}:{}/postgres{sep}{params}",
            self.port
        )
    }

    /// An admin session over the unix socket (no TLS needed there).
    pub async fn admin(&self) -> tokio_postgres::Client {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.socket_dir())
            .port(self.port)
            .user("postgres")
            .dbname("postgres");
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("admin connection over the unix socket");
        tokio::spawn(connection);
        client
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        // `immediate`: nothing to flush for a throw-away cluster, and Drop should be quick.
        let stopped = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/pg_ctl"), "-D"])
            .arg(&data)
            .args(["-m", "immediate", "-w", "-t", "20", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            // pg_ctl could not do it (or the server was already down): kill the postmaster by
            // the pid it recorded, if it is still there.
            let pid = std::fs::read_to_string(data.join("postmaster.pid"))
                .ok()
                .and_then(|file| file.lines().next()?.trim().parse::<i32>().ok());
            if let Some(pid) = pid {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
            }
        }
        // The TempDir field removes the directory after this.
    }
}
