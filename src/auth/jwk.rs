//! One key of Better Auth's JWKS: reading a JWK into a public key we can check signatures
//! with, or saying why it is skipped. Only public signing keys are taken: OKP (Ed25519), EC
//! (P-256, P-384) and RSA (2048 bits or more); a symmetric (`oct`) key is refused, so a
//! published "secret" can never sign tokens, and every length is checked here because the
//! signature code assumes it.
//!
//! It never fetches (that is `jwks`) and never decides whether a token is valid (`verifier`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::types::algorithm_named;

/// The curve or key type of a public key; it decides which algorithms the key can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Ed25519,
    P256,
    P384,
    Rsa,
}

impl KeyType {
    fn can_check(self, alg: Algorithm) -> bool {
        match self {
            KeyType::Ed25519 => alg == Algorithm::EdDSA,
            KeyType::P256 => alg == Algorithm::ES256,
            KeyType::P384 => alg == Algorithm::ES384,
            KeyType::Rsa => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
        }
    }
}

/// One usable key of the set.
#[derive(Clone)]
pub(super) struct PublicKey {
    pub(super) kid: Option<String>,
    key_type: KeyType,
    /// The `alg` the key is published for; `None` when the JWKS leaves it out (then the key
    /// type decides).
    alg: Option<Algorithm>,
    pub(super) decoding: DecodingKey,
}

impl PublicKey {
    pub(super) fn fits(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        self.key_type.can_check(alg)
            && self.alg.is_none_or(|own| own == alg)
            && kid.is_none_or(|kid| self.kid.as_deref() == Some(kid))
    }
}

/// Reads one JWK, or says why it cannot be used.
pub(super) fn parse_key(jwk: &Value) -> Result<PublicKey, String> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if let Some(usage) = field("use")
        && usage != "sig"
    {
        return Err(format!("not a signing key (use {usage:?})"));
    }
    let alg = match field("alg") {
        None => None,
        Some(name) => Some(algorithm_named(name).ok_or_else(|| match name {
            "ES512" => "ES512 keys are not supported (jsonwebtoken has no P-521)".to_owned(),
            other => format!("unsupported alg {other:?}"),
        })?),
    };
    let component = |name: &str, want: Option<usize>| -> Result<Vec<u8>, String> {
        let text = field(name).ok_or_else(|| format!("missing {name}"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| format!("{name} is not base64url"))?;
        match want {
            Some(len) if bytes.len() != len => {
                Err(format!("{name} is {} bytes, not {len}", bytes.len()))
            }
            _ => Ok(bytes),
        }
    };
    // The lengths are checked here because the verifiers assume them (a short Ed25519 key
    // would otherwise fail deep inside the crypto code).
    let (key_type, decoding) = match (field("kty"), field("crv")) {
        (Some("OKP"), Some("Ed25519")) => {
            let x = component("x", Some(32))?;
            (KeyType::Ed25519, DecodingKey::from_ed_der(&x))
        }
        (Some("EC"), Some(curve @ ("P-256" | "P-384"))) => {
            let (key_type, len) = if curve == "P-256" {
                (KeyType::P256, 32)
            } else {
                (KeyType::P384, 48)
            };
            let mut point = vec![0x04];
            point.extend(component("x", Some(len))?);
            point.extend(component("y", Some(len))?);
            (key_type, DecodingKey::from_ec_der(&point))
        }
        (Some("RSA"), _) => {
            let n = component("n", None)?;
            let e = component("e", None)?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < 2048 {
                return Err(format!(
                    "RSA key of {bits} bits is too weak (2048 at least)"
                ));
            }
            if e.is_empty() || e.len() > 8 {
                return Err("RSA exponent out of range".into());
            }
            (KeyType::Rsa, DecodingKey::from_rsa_raw_components(&n, &e))
        }
        (Some(kty), crv) => return Err(format!("unsupported key type {kty:?} (curve {crv:?})")),
        (None, _) => return Err("no kty".into()),
    };
    if let Some(alg) = alg
        && !key_type.can_check(alg)
    {
        return Err(format!("alg {alg:?} does not match the key type"));
    }
    let kid = field("kid").map(str::to_owned);
    Ok(PublicKey {
        kid,
        key_type,
        alg,
        decoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(len: usize) -> String {
        URL_SAFE_NO_PAD.encode(vec![7u8; len])
    }

    #[test]
    fn reads_the_key_shapes_better_auth_publishes() {
        let ed = parse_key(
            &json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "kid": "a", "alg": "EdDSA"}),
        )
        .unwrap();
        assert_eq!(ed.key_type, KeyType::Ed25519);
        assert!(ed.fits(Algorithm::EdDSA, Some("a")));
        assert!(!ed.fits(Algorithm::EdDSA, Some("b")));
        assert!(!ed.fits(Algorithm::ES256, Some("a")));
        let renamed =
            parse_key(&json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "alg": "Ed25519"}))
                .unwrap();
        assert_eq!(renamed.alg, Some(Algorithm::EdDSA));
        let no_alg =
            parse_key(&json!({"kty": "EC", "crv": "P-256", "x": b64(32), "y": b64(32)})).unwrap();
        assert!(no_alg.fits(Algorithm::ES256, None));
        assert!(!no_alg.fits(Algorithm::ES384, None));
        let rsa =
            parse_key(&json!({"kty": "RSA", "n": b64(256), "e": "AQAB", "alg": "PS256"})).unwrap();
        assert!(rsa.fits(Algorithm::PS256, None));
        assert!(
            !rsa.fits(Algorithm::RS256, None),
            "a key published for PS256 checks only PS256"
        );
    }

    #[test]
    fn refuses_keys_it_must_not_use() {
        let refused = [
            json!({"kty": "oct", "k": b64(32)}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(16)}),
            json!({"kty": "OKP", "crv": "Ed448", "x": b64(57)}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "use": "enc"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "alg": "RS256"}),
            json!({"kty": "EC", "crv": "P-521", "x": b64(66), "y": b64(66), "alg": "ES512"}),
            json!({"kty": "EC", "crv": "P-256", "x": "not base64!", "y": b64(32)}),
            json!({"kty": "RSA", "n": b64(128), "e": "AQAB"}),
            json!({"crv": "Ed25519", "x": b64(32)}),
            json!("not an object"),
        ];
        for jwk in refused {
            assert!(parse_key(&jwk).is_err(), "accepted {jwk}");
        }
    }
}
