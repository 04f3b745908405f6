//! GraphiQL, served from the binary: the page at `GET /graphql` (for browsers) and its assets
//! under `/graphiql/<hash>/`, vendored in `assets/graphiql/` (see `refresh.sh` there and
//! `VERSIONS`). Nothing is fetched from another origin, so it works offline, and the page's
//! Content-Security-Policy allows only the server's own origin.
//!
//! The asset URLs carry a hash of the assets' contents, so they can be cached for a year and
//! an upgrade still reaches every browser. The page itself is never cached (it names the
//! hash). This module owns the page; the GraphQL transport stays in `http.rs`.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One vendored file: its name in the URL, its media type and its bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "react.production.min.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/graphiql/react.production.min.js"
        )),
    },
    Asset {
        name: "react-dom.production.min.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/graphiql/react-dom.production.min.js"
        )),
    },
    Asset {
        name: "graphiql.min.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/graphiql/graphiql.min.js"
        )),
    },
    Asset {
        name: "graphiql.min.css",
        media_type: "text/css; charset=utf-8",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/graphiql/graphiql.min.css"
        )),
    },
    Asset {
        name: "page.css",
        media_type: "text/css; charset=utf-8",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/graphiql/page.css"
        )),
    },
    Asset {
        name: "start.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/graphiql/start.js"
        )),
    },
];

/// The first 16 hex digits of a SHA-256 over every asset: the versioned URL segment.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for asset in ASSETS {
        hasher.update(asset.name.as_bytes());
        hasher.update((asset.bytes.len() as u64).to_le_bytes());
        hasher.update(asset.bytes);
    }
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
});

/// The path prefix of the assets, e.g. `/graphiql/0123456789abcdef`.
pub fn assets_prefix() -> String {
    format!("/graphiql/{}", *VERSION)
}

/// Only this origin: scripts, styles, connections (HTTP and the subscription WebSocket).
/// GraphiQL's stylesheet embeds its fonts and icons as `data:` URLs, which are part of the
/// file and reach no other origin. `style-src 'self'` still lets React set inline styles
/// through the DOM (CSSOM), which CSP does not govern.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     font-src 'self' data:; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The GraphiQL page. `dev_token` is the development sign-in endpoint when it is on.
pub fn page(dev_token: Option<&str>) -> Response {
    let prefix = assets_prefix();
    let dev_token = dev_token
        .map(|url| format!(" data-dev-token=\"{url}\""))
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>todo-api GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{prefix}/graphiql.min.css">
<link rel="stylesheet" href="{prefix}/page.css">
</head>
<body>
<div id="graphiql" data-endpoint="/graphql"{dev_token} data-default-query="{DEFAULT_QUERY}">Loading GraphiQL…</div>
<script src="{prefix}/react.production.min.js"></script>
<script src="{prefix}/react-dom.production.min.js"></script>
<script src="{prefix}/graphiql.min.js"></script>
<script src="{prefix}/start.js"></script>
</body>
</html>
"#
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

/// The first query a newcomer sees (HTML-escaped: it sits in an attribute).
const DEFAULT_QUERY: &str = "# Token: Headers tab below (Authorization: Bearer …).\n\
# Run: the ▶ button. Schema: the Docs panel (top left).\n\
query MyTasks {\n  viewer { id }\n  tasks(status: ALL) { id title completed createdAt }\n}\n";

/// `GET /graphiql/{version}/{file}`: an asset, cached for a year when the version is current.
pub(super) async fn asset(Path((version, name)): Path<(String, String)>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // An old version's URL still gets the current file, but not for keeps.
    let cache = if version == *VERSION {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_static("no-cache")
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.media_type),
            ),
            (header::CACHE_CONTROL, cache),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}
