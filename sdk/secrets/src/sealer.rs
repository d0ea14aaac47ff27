//! Passphrase sealing: Argon2id derives a key from the passphrase and a salt;
//! XChaCha20-Poly1305 encrypts each value under a fresh random nonce.
//!
//! A sealed value is self-describing text, `cairn:pp1:SALT:NONCE:CIPHERTEXT`
//! (base64), so nothing has to be stored before the first secret is written,
//! and a wrong passphrase shows as an authentication failure.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// The prefix of every sealed value.
pub const PREFIX: &str = "cairn:pp1:";

/// A sealed value that could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Authentication failed: another passphrase sealed it (or it was altered).
    #[error("the passphrase does not open it (wrong passphrase, or the value was altered)")]
    WrongPassphrase,
    /// Not something this version seals.
    #[error("it is not a sealed value: {0}")]
    Malformed(String),
    /// The key service did not make or unwrap a data key.
    #[error("the key service refused: {0}")]
    KeyService(cairn_core::ProviderError),
    /// The data key opened, but the value fails authentication.
    #[error("the value was altered after it was sealed")]
    Altered,
    /// Sealed by the other mode (e.g. a passphrase, when the stack now uses KMS).
    #[error("it was sealed with {0}")]
    OtherMode(String),
}

/// Seals and opens values with one passphrase.
pub struct Sealer {
    passphrase: String,
    params: Params,
    keys: Mutex<HashMap<Vec<u8>, Key>>,
    /// The salt new values are sealed with: the one already in use by the
    /// stack if any (one key derivation per stack, not per value).
    salt: Mutex<Option<Vec<u8>>>,
}

impl Sealer {
    /// A sealer with OWASP's recommended Argon2id cost (19 MiB, 2 passes).
    pub fn new(passphrase: impl Into<String>) -> Self {
        Self::with_params(passphrase, Params::new(19 * 1024, 2, 1, Some(32)).expect("valid Argon2 parameters"))
    }

    /// A sealer with explicit Argon2id parameters (tests use cheap ones).
    pub fn with_params(passphrase: impl Into<String>, params: Params) -> Self {
        Self { passphrase: passphrase.into(), params, keys: Mutex::default(), salt: Mutex::default() }
    }

    fn key(&self, salt: &[u8]) -> Key {
        let mut keys = self.keys.lock().expect("keys");
        if let Some(k) = keys.get(salt) {
            return *k;
        }
        let mut key = Key::default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
            .hash_password_into(self.passphrase.as_bytes(), salt, &mut key)
            .expect("Argon2 accepts a 16-byte salt");
        keys.insert(salt.to_vec(), key);
        key
    }

    /// Seals `plain`.
    pub fn seal(&self, plain: &[u8]) -> String {
        let salt = self.salt.lock().expect("salt").get_or_insert_with(|| rand::random::<[u8; 16]>().to_vec()).clone();
        let nonce = rand::random::<[u8; 24]>();
        let ct = XChaCha20Poly1305::new(&self.key(&salt))
            .encrypt(XNonce::from_slice(&nonce), plain)
            .expect("encryption of an in-memory buffer cannot fail");
        format!("{PREFIX}{}:{}:{}", B64.encode(&salt), B64.encode(nonce), B64.encode(ct))
    }

    /// Opens a sealed value; adopts its salt for later seals.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let bad = || SealError::Malformed(sealed.chars().take(24).collect());
        let rest = sealed.strip_prefix(PREFIX).ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split(':').collect();
        let [salt, nonce, ct] = parts.as_slice() else { return Err(bad()) };
        let (salt, nonce, ct) = (
            B64.decode(salt).map_err(|_| bad())?,
            B64.decode(nonce).map_err(|_| bad())?,
            B64.decode(ct).map_err(|_| bad())?,
        );
        if nonce.len() != 24 {
            return Err(bad());
        }
        let plain = XChaCha20Poly1305::new(&self.key(&salt))
            .decrypt(XNonce::from_slice(&nonce), ct.as_slice())
            .map_err(|_| SealError::WrongPassphrase)?;
        self.salt.lock().expect("salt").get_or_insert(salt);
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(p: &str) -> Sealer {
        Sealer::with_params(p, Params::new(64, 1, 1, Some(32)).unwrap())
    }

    #[test]
    fn round_trips_and_never_repeats_a_ciphertext() {
        let s = cheap("correct horse");
        let (a, b) = (s.seal(b"hunter2"), s.seal(b"hunter2"));
        assert_ne!(a, b, "fresh nonce per value");
        assert!(a.starts_with(PREFIX) && !a.contains("hunter2"));
        assert_eq!(s.open(&a).unwrap(), b"hunter2");
        assert_eq!(cheap("correct horse").open(&b).unwrap(), b"hunter2", "another process opens it");
    }

    #[test]
    fn a_wrong_passphrase_or_tampering_is_detected() {
        let sealed = cheap("right").seal(b"x");
        assert_eq!(cheap("wrong").open(&sealed), Err(SealError::WrongPassphrase));
        // Flip a character inside the ciphertext (not the last one, whose
        // spare bits would make the base64 itself invalid).
        let at = sealed.len() - 5;
        let flipped = if &sealed[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &sealed[..at], &sealed[at + 1..]);
        assert_eq!(cheap("right").open(&tampered), Err(SealError::WrongPassphrase));
        assert!(matches!(cheap("right").open("plain"), Err(SealError::Malformed(_))));
    }
}
