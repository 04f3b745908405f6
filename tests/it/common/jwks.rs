//! A stand-in for Better Auth, for tests: a tiny axum server on 127.0.0.1 that publishes a
//! JWKS the test can change at any time (and can make fail or count), answers `get-session`
//! for the sessions the test adds, and keys that sign tokens shaped as Better Auth's JWT plugin
//! signs them (header `{alg, kid}` only, the user object in the payload).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

/// Two 2048-bit RSA keys made once with `openssl genpkey` (generating RSA keys in an
/// unoptimised test build takes seconds). Test keys only: they guard nothing.
const RSA_KEY_1: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC4+lA9BSsszSsU
UP1kfPsClei1gLXVCEN27fQrPK1O2OJ38FoP2w6lezQpoJOgghiLMyj+hhrsMHda
Ac3wUxWYLkdT9rM/gTibAMvJfhF8L2YmMzgfE8qEsq3fAKHpswmx0X8VZYC36yR8
OLsVpAX7EBHDsauDAZgpWmH73DX6Dfj+GZJSKHv76DiOttA9mOf3TxyPdT3RShpS
6A2gQmXtY0KCsbi0xHFAxe8ONwHQcfREL6vxDYVqDJ7MH9qg8LU2BV+n3fek+Eb8
QcvUTiuwH1YtG3Qu6NC2IinV2UOzWzRZdKYDctY+XilkrMqGyv279lL2Sb2Mucyp
fD9y933jAgMBAAECggEABAURWB7tokQ1itp7tzXtsOlLEyHgUbUKEK9fhM6e9L1+
QAPNutYUcM1g0J34Hbii1rUrT35G+LNqh8U0RLDsuwLk2YYQVr5bJlstEox8msms
GzZpVZuOshvwu8DkXXmR9pBKUulPk8k2k/bm2E1ZNLlTrLOgU4qyumtUmvsp6eyS
qGuHfmcR5qtUmFpQ0ouDlOBRok/r73Gu0aEr0J0D5277I7aAJdFiYOKiQ6ekqYDm
c2Pr3AkWs/xlh57w1aMo3TuEDjC3L3+DSHtMXFM0GaUTxfmsPPIGhxWgfEVJDDY/
WC/UwDkh8lFqMwADcb7j+3VIfrTm3BO/aRK9uXK4UQKBgQD6dUKr5hqt3+q6Dc+h
X1HBSH51p83aT9LzBciq8P8+FtjXaH90D+bXAOoMfCLhk9igBeaa1y//6j0Tq5Xu
m6fyKUY0KpurzOMdXlUzAabRBOZhUBXjpKEQ9fsV+Uazs2lGSfFQ/JGxu2C6UPBr
u9VPLuzU55HIBePGfRL9VKmjKQKBgQC9EiKEuOK35zW+jS2T4Ht4uPiJYmUpBW9E
52LIpEGWsviJwDTPSCmsZEYpjlIL+HHK03ujtoJBZYNqoApu6yZNtdvzNV06J3qC
TnpgTiYAY8IH1eU1C0sdfQrKU4lNVLvnp8QEdAI42awhPh5crdoVzv5bOUizKrHg
7O6iG1kmKwKBgFEMkT6/f/K0e2kp/v7hsbsyknnQi7USD9nFDWMEChU1n4ZVsqkE
XFdHXHYd1cvZ5EgkoLOK32WZj5pF9Ib6qCadZLKM90NpUjW2yStwZWNOip8DI5I/
PEAY2eAKgu60KGUumID0utEhKfQhLSwv5J9zOADNz0dDYKpi3zpLo3nBAoGAJpJe
jGkTh6UZp8gxdiujxNsniQ+Tx6yeKJZz5q7r2oyke6XEoEz+g3bpgWzRfDOxM0m1
vY5sQF8vUj9YIYzDgbMKLjHC1Sxcp9zOxnrq8cVoPiT637lwF5H8843bQvV4aCgn
qyjnkyWFIjsEArBM/4n9BitHk5WwOEzd2iBuLYUCgYEAnnBRjOUPDoA6p20UQlhl
Yqy29/RCOnyrhqA9KqTPZPuyOPJSCDij8PDcIaHfrZhYqhIxZMCxYq+YkC8ZOmxd
/ST2lHC3S2+B4VY6qsB+XvV74kX68jAkm2ON/4Is3tr2NaVnE6YvtQ9l9mg3gRQx
yPpsJaMucvponoccMLOV2j4=
-----END PRIVATE KEY-----";
const RSA_KEY_2: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCDDoEGHFRJ6Bl8
u+LzdkAWjiB3g2DUr7dBNgPpyoY41CZg+sgk/kF31yzK1LDMx19MtwpdmFhvcwHL
g5vWQAsTOHR7ptLj56VVElbgW02hXcy9DvCOf7i5lC6eXaiymvdrqiT7Pg3AJlon
AjDcPhHkzbYWHB+lGnkpMU7zCfDaApx9AIB1aykkVa+A8mdKwL8zvirN6uff3O5l
r5hbWwxqGHPglxYmKZ98YHsqnTKR6rjpshVoQG8emx7DHqu0w3kTMnECQzHO7+R4
lf0qKf6TTWPH2Hzskx76yJ9d7MHk6+MeLts3B5SrGRsMTw4BdcglqIEvVzfm9iWy
NzAs1lKxAgMBAAECggEAAP634e2OggRjJ6ZXRvMKkeVEt7WRk1HNc886vMBY8Cbj
rvQud3Hu+i+B930Bhd98YK0p1Ou0fa2fSY3Tbb8tGllxEHSD+L8cKyr9Sf0ld+x5
8sRBlSpg8xc9+p2yS39X0itftiDaqr8by3yltXFa8kxRxeWTI64xleuJ+nhEieot
ARMI/MeiG27CFc8Tnw/L2nPmiG2iBVek+YtQtIMxHTXendPT0/2HLXSTlHCtsHeB
aS8lJEi0/Th/eQz6WBU6Qtp5YPr6r39F46gJIfUl1Q6PqJEJoVqUwi3sWz/DFfQG
IYZaqyzLLYExXpxQZ/fVz1/UBuczMJusHsI6wFKewQKBgQC4VF3MU9ROyOtotAF6
oz141vo8xnmblmqpyobq3Mr0vMdEaDRAEbrVH2LHqv15jD5h1I9yAl2dL4Mqi8Km
KP7yGiZyTxYOwESa+SHWIlotBVAxlsqiNSErath8TFKPYz1egtrzEWaIjJT6YlU4
uMgX8TzPsXt/8gXq9bKRNk9BQQKBgQC2A4GlmFiwEbeCB+4IuGfCndlB0jv54cCR
PC3ra6S0RDR+gbVNeaPLf0zaXhSDiPcq5eZ/jCqEiaVHo1XF6Jl8ORQbiSf4hqrU
vaa/Q5uTUo3Ka5tvj9DSBHHnO5o3zFNPbTDBo+2XhqyUyWUhtDcUZNeImQrotW9z
6hjkAkRFcQKBgQCkR0xxViTZMmfboNHQoruefrn2gEzRRXU6ba1gk/att7FAXj5y
+1ovpxE6MkJFmZ/fQLm3OjSEalvUB0srG05cJsItDh7ydpiuJWrqlSMZDKs0BtgB
SKiPMWJPJRZPhHqlSKoqB1ACUohTvl+FdemerPktgVg351Mu3FqQ4H4yAQKBgQCk
0R4IJqFApnpmq+mXSezjZW6DVO1shEmM+lKWmL3nYs+qMqhLRLfWoSqlnoWy6kbv
OIl1vCYQKFhbO4ODF/JMc59Ko/Nm8AMna6jgD0eEqz+sKa7x4ef1FYNTITywBDz4
cmaxIlEWYiRLAueqEnfB5uLpVbR0Lz+CVlw9s/PAcQKBgGu6vFQ5s0hnhBt258na
qPtZbTKYzUt5edkaStX6aoRX/b00rMfYhHNXypKwEGIU5gp/SGatba0WzVaKT7t2
c+AsnrivCMA45BvnFjYdP2OOKURqEGyBuULjtv/Menn0Edk87je6a+fLYQCQkuqy
99iUvBKOajVELOWU4bcYa8Hd
-----END PRIVATE KEY-----";

/// A signing key and the JWK Better Auth would publish for it.
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
    public: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    /// Better Auth's default: EdDSA over Ed25519.
    pub fn ed25519(kid: &str) -> TestKey {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let der = key.to_pkcs8_der().expect("Ed25519 PKCS#8");
        let x = key.verifying_key().to_bytes().to_vec();
        TestKey {
            kid: kid.to_owned(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&x), "kid": kid, "alg": "EdDSA"}),
            public: x,
        }
    }

    /// ES256 over P-256.
    pub fn es256(kid: &str) -> TestKey {
        use p256::pkcs8::EncodePrivateKey;
        let key = loop {
            // A random 32-byte string is a valid scalar but for a 2^-128 chance.
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
                break key;
            }
        };
        let der = key.to_pkcs8_der().expect("P-256 PKCS#8");
        let point = key.verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().expect("x"), point.y().expect("y"));
        TestKey {
            kid: kid.to_owned(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            jwk: json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": kid, "alg": "ES256"}),
            public: point.as_bytes().to_vec(),
        }
    }

    /// RS256 with the first embedded RSA key.
    pub fn rs256(kid: &str) -> TestKey {
        Self::rsa(kid, Algorithm::RS256, RSA_KEY_1)
    }

    /// PS256 with the second embedded RSA key.
    pub fn ps256(kid: &str) -> TestKey {
        Self::rsa(kid, Algorithm::PS256, RSA_KEY_2)
    }

    fn rsa(kid: &str, alg: Algorithm, pem: &str) -> TestKey {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem).expect("RSA PEM");
        let (n, e) = (private.n().to_bytes_be(), private.e().to_bytes_be());
        let name = if alg == Algorithm::RS256 {
            "RS256"
        } else {
            "PS256"
        };
        TestKey {
            kid: kid.to_owned(),
            alg,
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA key"),
            jwk: json!({"kty": "RSA", "n": b64(&n), "e": b64(&e), "kid": kid, "alg": name}),
            public: n,
        }
    }

    /// The JWK as Better Auth publishes it.
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// The JWK with `alg` changed (or removed when `None`): keys may lack it, and Ed25519
    /// keys may carry the newer name "Ed25519".
    pub fn jwk_with_alg(&self, alg: Option<&str>) -> Value {
        let mut jwk = self.jwk.clone();
        match alg {
            Some(alg) => jwk["alg"] = json!(alg),
            None => {
                jwk.as_object_mut().expect("object").remove("alg");
            }
        }
        jwk
    }

    /// The raw public key (Ed25519 `x`, the SEC1 point, or the RSA modulus).
    pub fn public_bytes(&self) -> &[u8] {
        &self.public
    }

    /// A token as Better Auth signs it: header `{"alg", "kid"}`, no `typ`.
    pub fn sign(&self, claims: &Value) -> String {
        let alg = match self.alg {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            Algorithm::RS256 => "RS256",
            _ => "PS256",
        };
        self.sign_with_header(&json!({"alg": alg, "kid": self.kid}), claims)
    }

    /// A token with any header, signed with this key's algorithm.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, self.alg)
            .expect("signs");
        format!("{message}.{signature}")
    }
}

/// A token with any header, signed with HMAC-SHA256 under `secret`.
pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = EncodingKey::from_secret(secret);
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("signs");
    format!("{message}.{signature}")
}

/// A token with any header and signature text, for unsigned and broken tokens.
pub fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// The claims Better Auth 1.7's JWT plugin puts in a token for `user`, issued by `origin`.
pub fn better_auth_claims(origin: &str, user: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iat": now,
        "name": "Test User",
        "email": format!("{user}@example.com"),
        "emailVerified": true,
        "image": null,
        "createdAt": "2026-11-01T10:00:00.000Z",
        "updatedAt": "2026-11-01T10:00:00.000Z",
        "id": user,
        "sub": user,
        "exp": now + 900,
        "iss": origin,
        "aud": origin,
    })
}

#[derive(Default)]
struct FakeState {
    keys: Mutex<Vec<Value>>,
    sessions: Mutex<HashMap<String, Value>>,
    failing: AtomicBool,
    jwks_fetches: AtomicUsize,
    session_lookups: AtomicUsize,
}

/// The fake Better Auth server.
pub struct FakeBetterAuth {
    /// Its origin, `http://127.0.0.1:PORT` (what BETTER_AUTH_URL would be).
    pub url: String,
    state: Arc<FakeState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBetterAuth {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A free loopback address, for a server that is started later. Its port is drawn below the
/// kernel's ephemeral range (Linux's default is 32768-60999), where neither another test's
/// `:0` bind nor an outbound connection's source port lands meanwhile: a port from `:0`, left
/// unbound while the test ran, was once taken by then (`AddrInUse` in a CI run of the whole
/// suite, `better_auth::postgres::jwks_down_at_start_answers_503_then_recovers`).
pub async fn free_address() -> SocketAddr {
    loop {
        let port: u16 = rand::random_range(20_000..32_000);
        if let Ok(listener) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            return listener.local_addr().expect("address");
        }
    }
}

async fn jwks(State(state): State<Arc<FakeState>>) -> impl IntoResponse {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if state.failing.load(Ordering::SeqCst) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "down"})),
        );
    }
    let keys = state.keys.lock().expect("keys").clone();
    (StatusCode::OK, Json(json!({ "keys": keys })))
}

/// `get-session` as Better Auth answers it: the session and user for a known bearer session
/// token, `null` otherwise (unknown, revoked, or a bad signature). Unlike Better Auth it also
/// answers for an expired session, so that the server's own expiry check is what is tested.
async fn get_session(State(state): State<Arc<FakeState>>, headers: HeaderMap) -> Json<Value> {
    state.session_lookups.fetch_add(1, Ordering::SeqCst);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let sessions = state.sessions.lock().expect("sessions");
    let answer = sessions.get(token).cloned().unwrap_or(Value::Null);
    Json(answer)
}

/// Sends the caller on to the real route: a server that redirects must not be followed.
async fn redirect(uri: axum::http::Uri) -> impl IntoResponse {
    let target = uri.path().trim_start_matches("/redirect");
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(axum::http::header::LOCATION, target.to_owned())],
    )
}

fn router(state: Arc<FakeState>) -> Router {
    Router::new()
        .route("/api/auth/jwks", get(jwks))
        .route("/api/auth/get-session", get(get_session))
        .route("/redirect/api/auth/jwks", get(redirect))
        .route("/redirect/api/auth/get-session", get(redirect))
        .with_state(state)
}

/// TLS on top of a TCP listener, for axum: a connection is handed over once its handshake is
/// done (one that fails is dropped).
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, address)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

impl FakeBetterAuth {
    /// Starts on an ephemeral port.
    pub async fn start() -> FakeBetterAuth {
        Self::start_on(free_address().await).await
    }

    /// Starts on `address` (a server that was "down" coming up).
    pub async fn start_on(address: SocketAddr) -> FakeBetterAuth {
        let state = Arc::new(FakeState::default());
        let router = router(state.clone());
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .expect("bind the fake Better Auth");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeBetterAuth {
            url: format!("http://{address}"),
            state,
            server,
        }
    }

    /// Starts over HTTPS as `https://localhost:PORT`, with a certificate from a CA made for
    /// the test; returns the CA's PEM too, for the client to trust.
    pub async fn start_https() -> (FakeBetterAuth, String) {
        let (ca, ca_pem) = super::cluster::make_ca("fake Better Auth CA");
        let (cert_pem, key_pem) = super::cluster::make_leaf(&ca);
        let certificates = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate PEM");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key PEM");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .expect("server TLS config");
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = tcp.local_addr().expect("address").port();
        let listener = TlsListener {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
        };
        let state = Arc::new(FakeState::default());
        let router = router(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let url = format!("https://localhost:{port}");
        (FakeBetterAuth { url, state, server }, ca_pem)
    }

    /// A token Better Auth would issue for `user`, signed with `key`.
    pub fn token(&self, key: &TestKey, user: &str) -> String {
        key.sign(&better_auth_claims(&self.url, user))
    }

    /// Publishes exactly these keys.
    pub fn publish(&self, keys: &[&TestKey]) {
        self.publish_jwks(keys.iter().map(|key| key.jwk()).collect());
    }

    /// Publishes exactly these JWKs.
    pub fn publish_jwks(&self, jwks: Vec<Value>) {
        *self.state.keys.lock().expect("keys") = jwks;
    }

    /// Makes the JWKS answer 500 (or work again).
    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// How many times the JWKS was asked for.
    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many times get-session was asked.
    pub fn session_lookups(&self) -> usize {
        self.state.session_lookups.load(Ordering::SeqCst)
    }

    /// Adds a session that `get-session` reports for `token` (the signed form), expiring at
    /// `expires`.
    pub fn add_session(&self, token: &str, user: &str, expires: DateTime<Utc>) {
        let id = token.split('.').next().unwrap_or_default();
        let expires = expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let answer = json!({
            "session": {"id": format!("s-{user}"), "token": id, "userId": user, "expiresAt": expires},
            "user": {"id": user, "email": format!("{user}@example.com"), "name": "Test User"},
        });
        self.state
            .sessions
            .lock()
            .expect("sessions")
            .insert(token.to_owned(), answer);
    }

    /// Ends a session (sign-out or revocation).
    pub fn revoke_session(&self, token: &str) {
        self.state.sessions.lock().expect("sessions").remove(token);
    }
}
