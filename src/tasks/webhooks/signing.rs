//! Standard Webhooks v1 signatures: a secret is `whsec_` and the base64 of 32 random bytes; a
//! message is signed with HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed by
//! the secret's bytes after `whsec_`, and sent as `v1,<base64>`. Only the server's own secrets
//! are read here (made by [`new_secret`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// What every secret starts with.
const PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub(super) fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The message id of a delivery that has none stored yet: `msg_` and 16 bytes of the SHA-256 of
/// its webhook, its row and its queueing time, in hex. Derived, not drawn, so that an attempt
/// sent and then lost with its instance (before it was recorded) is sent again with the same
/// id; unique because a row is queued once (a database made anew reuses row numbers, never
/// with the same queueing instant).
pub(super) fn derived_message_id(webhook: i64, delivery: i64, queued_micros: i64) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(format!("{webhook}.{delivery}.{queued_micros}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("msg_{hex}")
}

/// The `webhook-signature` header of one attempt.
pub(super) fn signature(secret: &str, message_id: &str, timestamp: i64, body: &str) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_as_the_specification_does() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_32_random_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let raw = STANDARD.decode(a.strip_prefix(PREFIX).unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn a_message_id_is_the_same_for_its_row_and_differs_between_rows() {
        let id = derived_message_id(7, 42, 1_700_000_000_000_000);
        assert_eq!(id, derived_message_id(7, 42, 1_700_000_000_000_000));
        assert!(id.starts_with("msg_") && id.len() == 4 + 32, "{id}");
        assert_ne!(id, derived_message_id(7, 43, 1_700_000_000_000_000));
        assert_ne!(id, derived_message_id(8, 42, 1_700_000_000_000_000));
        assert_ne!(id, derived_message_id(7, 42, 1_700_000_000_000_001));
    }
}
