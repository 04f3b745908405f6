//! A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that records every
//! delivery (headers and body) and answers with the status the test sets (after an optional
//! delay), and the check of deliveries with the official `standardwebhooks` library (PyPI),
//! installed into a virtualenv under target/ on first use: a failure to install fails the
//! test (CI has PyPI).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

/// The version of `standardwebhooks` the deliveries are checked with.
const STANDARDWEBHOOKS: &str = "1.1.0";

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: String,
    pub at: Instant,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a delivery's body is JSON")
    }

    /// The body's `type`.
    pub fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    /// Statuses to answer, in turn; then `then`.
    script: Vec<u16>,
    then: u16,
    delay: Duration,
    base: String,
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, delay, base) = {
        let mut inner = inner.lock().unwrap();
        inner.received.push(Received {
            path: uri.path().to_owned(),
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            content_type: header("content-type"),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        let status = match inner.script.is_empty() {
            true => inner.then,
            false => inner.script.remove(0),
        };
        (status, inner.delay, inner.base.clone())
    };
    tokio::time::sleep(delay).await;
    let mut answer = HeaderMap::new();
    // A redirect points at `/followed`: a sender that follows it shows up there.
    if (300..400).contains(&status) {
        let to = format!("{base}/followed");
        answer.insert("location", to.parse().unwrap());
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        answer,
    )
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner {
            then: 200,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        inner.lock().unwrap().base = format!("http://{addr}");
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            base: format!("http://{addr}"),
            inner,
        }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers `script`'s statuses in turn, then `then`.
    pub fn answer(&self, script: &[u16], then: u16) {
        let mut inner = self.inner.lock().unwrap();
        inner.script = script.to_vec();
        inner.then = then;
    }

    /// Waits this long before each answer.
    pub fn delay(&self, delay: Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// What `path` received so far.
    pub fn received_at(&self, path: &str) -> Vec<Received> {
        let all = self.received();
        all.into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits (up to `deadline`) until `path` has received at least `count`; returns them.
    pub async fn wait_for(&self, path: &str, count: usize, deadline: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received_at(path);
            if got.len() >= count {
                return got;
            }
            assert!(
                start.elapsed() < deadline,
                "{path} received {} of {count} deliveries in {deadline:?}: {got:#?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Checks every delivery with `standardwebhooks` (Python): each verifies with `secret` and
/// the library hands back the body as JSON. Panics naming the ones that do not.
pub fn verify_all(secret: &str, deliveries: &[Received]) {
    assert!(!deliveries.is_empty(), "nothing to verify");
    let items: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            json!({
                "body": d.body,
                "headers": {
                    "webhook-id": d.id,
                    "webhook-timestamp": d.timestamp,
                    "webhook-signature": d.signature,
                },
            })
        })
        .collect();
    let input = json!({"secret": secret, "items": items}).to_string();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
job = json.load(sys.stdin)
hook = Webhook(job["secret"])
bad = []
for i, item in enumerate(job["items"]):
    try:
        payload = hook.verify(item["body"], item["headers"])
        assert payload == json.loads(item["body"]), "payload differs"
    except Exception as e:
        bad.append(f"{i}: {type(e).__name__}: {e}")
print(json.dumps({"verified": len(job["items"]) - len(bad), "bad": bad}))
"#;
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs the verifier");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the verifier failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("the verifier's JSON");
    assert_eq!(
        answer["bad"],
        json!([]),
        "deliveries standardwebhooks refused: {answer}"
    );
    assert_eq!(answer["verified"], json!(deliveries.len()));
}

/// The virtualenv's python with `standardwebhooks` installed (installed on first use; a
/// failure to install fails the test).
fn python() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/webhooks-venv");
    let python = venv.join("bin/python");
    let pinned = venv.join(format!(".standardwebhooks-{STANDARDWEBHOOKS}"));
    if python.exists() && pinned.exists() {
        return python;
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    assert!(
        matches!(created, Ok(s) if s.success()),
        "python3 -m venv failed: {created:?}"
    );
    let installed = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "-q",
            &format!("standardwebhooks=={STANDARDWEBHOOKS}"),
        ])
        .status();
    assert!(
        matches!(installed, Ok(s) if s.success()),
        "pip install standardwebhooks=={STANDARDWEBHOOKS} failed: {installed:?}"
    );
    std::fs::write(&pinned, STANDARDWEBHOOKS).expect("marks the install");
    python
}
