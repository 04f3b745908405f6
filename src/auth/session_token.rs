//! The format of Better Auth's opaque session tokens (its bearer() plugin's
//! `<token>.<signature>`): what a plausible one looks like, and its signature, an
//! HMAC-SHA256 of the token part under `BETTER_AUTH_SECRET`, checked (and, for tests, made).
//!
//! Pure functions: looking a session up (database or `get-session`) is `sessions`' job.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::types::SecretKey;

/// Length of the signature part without padding: base64 of a 32-byte HMAC-SHA256 is 43
/// characters (44 is let through for encoders that differ; the MAC check decides).
const SIGNATURE_CHARS: std::ops::RangeInclusive<usize> = 43..=44;

/// Longest token part accepted (Better Auth's are 32 characters).
const MAX_TOKEN_CHARS: usize = 128;

/// `<token>.<signature>` with a plausible token part and a base64 (or base64url) signature of
/// an HMAC-SHA256; `None` for anything else, so nothing but those characters is ever looked
/// up or sent on to Better Auth.
pub(super) fn split_session_token(token: &str) -> Option<(&str, &str)> {
    let (id, signature) = token.split_once('.')?;
    let plausible_id = !id.is_empty()
        && id.len() <= MAX_TOKEN_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let unpadded = signature.trim_end_matches('=');
    let plausible_signature = signature.len() - unpadded.len() <= 2
        && SIGNATURE_CHARS.contains(&unpadded.len())
        && unpadded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'));
    (plausible_id && plausible_signature).then_some((id, signature))
}

/// Better Auth signs the token with HMAC-SHA256 and writes the MAC in standard base64 with
/// padding; the padding is sometimes lost and the URL-safe alphabet sometimes used, so both are
/// read. The comparison is constant-time (`verify_slice`).
pub(super) fn signature_matches(secret: &SecretKey, id: &str, signature: &str) -> bool {
    let normalized: String = signature
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let Ok(given) = STANDARD_NO_PAD.decode(normalized) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.bytes()) else {
        return false;
    };
    mac.update(id.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Signs a session token as Better Auth does (`<token>.<base64 HMAC>`): for tests.
pub fn sign_session_token(secret: &SecretKey, token: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm cannot run.
        Err(_) => return token.to_owned(),
    };
    mac.update(token.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("{token}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_in_every_spelling() {
        let secret = SecretKey::new(b"a-secret-of-at-least-thirty-two-bytes!!".to_vec());
        let signed = sign_session_token(&secret, "AbCdEfGhIjKlMnOpQrStUvWxYz012345");
        let (id, signature) = split_session_token(&signed).unwrap();
        assert!(signature_matches(&secret, id, signature));
        assert!(signature_matches(
            &secret,
            id,
            signature.trim_end_matches('=')
        ));
        let url_safe = signature.replace('+', "-").replace('/', "_");
        assert!(signature_matches(&secret, id, &url_safe));
        assert!(!signature_matches(
            &secret,
            "AbCdEfGhIjKlMnOpQrStUvWxYz012346",
            signature
        ));
        let other = SecretKey::new(b"another-secret-of-at-least-32-bytes!!!".to_vec());
        assert!(!signature_matches(&other, id, signature));
        assert!(!signature_matches(&secret, id, "%%%"));
    }

    #[test]
    fn only_token_dot_signature_is_a_session_token() {
        let secret = SecretKey::new(b"a-secret-of-at-least-thirty-two-bytes!!".to_vec());
        let signed = sign_session_token(&secret, "AbCdEfGhIjKlMnOpQrStUvWxYz012345");
        let (id, signature) = signed.split_once('.').unwrap();
        assert_eq!(split_session_token(&signed), Some((id, signature)));
        let unpadded = format!("{id}.{}", signature.trim_end_matches('='));
        assert!(split_session_token(&unpadded).is_some());
        let url_safe = format!("{id}.{}", "-_".repeat(22));
        assert!(split_session_token(&url_safe).is_some());
        let sig = signature.trim_end_matches('=');
        for junk in [
            "abc".to_owned(),
            format!(".{signature}"),
            "abc.".to_owned(),
            "abc.def".to_owned(),
            format!("a.b.{signature}"),
            format!("a b.{signature}"),
            "../etc.passwd".to_owned(),
            // What `abcdef.%0A` and `abcdef.%00x` decode to: control characters.
            "abcdef.\n".to_owned(),
            "abcdef.\0x".to_owned(),
            format!("abcdef.{}\n", &sig[1..]),
            format!("abcdef.{}\0", &sig[1..]),
            format!("abcdef.{sig}==="),
            format!("abcdef.{sig}{sig}"),
            format!("abcdef.{}", &sig[..40]),
            format!("abcdef.{} ", &sig[1..]),
        ] {
            assert!(split_session_token(&junk).is_none(), "{junk:?}");
        }
    }
}
