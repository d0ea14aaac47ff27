//! Envelope sealing: a key service (AWS KMS, reached through the AWS plugin)
//! makes a 256-bit data key and returns it together with a wrapped copy that
//! only the service can unwrap. Values are sealed here, with
//! XChaCha20-Poly1305 under the data key, and each sealed value carries the
//! wrapped key: `cairn:kms1:WRAPPED:NONCE:CIPHERTEXT` (base64). Nothing has
//! to be stored beside the state, and any run allowed to use the key opens it.
//!
//! A run that opens the stack's values adopts their data key for what it
//! seals, so the key service is called about once per run, not per value.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use cairn_core::ProviderError;

use crate::SealError;

/// The prefix of every value sealed under a data key.
pub const ENVELOPE_PREFIX: &str = "cairn:kms1:";

/// A key service that makes and unwraps data keys.
#[async_trait::async_trait]
pub trait DataKeys: Send + Sync {
    /// The key as configured, e.g. `awskms://alias/cairn-prod`, for messages.
    fn describe(&self) -> String;

    /// A fresh 256-bit data key: its plaintext and its wrapped form.
    async fn generate(&self) -> Result<(Vec<u8>, Vec<u8>), ProviderError>;

    /// The plaintext of a wrapped data key.
    async fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, ProviderError>;
}

/// Seals and opens values under data keys from a [`DataKeys`] service.
pub struct EnvelopeSealer {
    keys: Box<dyn DataKeys>,
    /// Unwrapped data keys, by wrapped form.
    opened: Mutex<HashMap<Vec<u8>, Key>>,
    /// The data key new values are sealed with (wrapped, plain).
    current: Mutex<Option<(Vec<u8>, Key)>>,
}

impl EnvelopeSealer {
    /// A sealer whose data keys come from `keys`.
    pub fn new(keys: impl DataKeys + 'static) -> Self {
        Self { keys: Box::new(keys), opened: Mutex::default(), current: Mutex::default() }
    }

    /// The key service's key, for messages.
    pub fn describe(&self) -> String {
        self.keys.describe()
    }

    /// Makes sure a data key is at hand for [`Self::seal`]: the one the
    /// stack's values use if some were opened, else a new one.
    pub async fn ready_to_seal(&self) -> Result<(), SealError> {
        if self.current.lock().expect("current key").is_some() {
            return Ok(());
        }
        let (plain, wrapped) = self.keys.generate().await.map_err(SealError::KeyService)?;
        let key = key_from(&plain)?;
        self.opened.lock().expect("opened keys").insert(wrapped.clone(), key);
        self.current.lock().expect("current key").get_or_insert((wrapped, key));
        Ok(())
    }

    /// Unwraps the data keys of `sealed` values not seen yet, so that
    /// [`Self::open`] can open them.
    pub async fn ready_to_open(&self, sealed: &[&str]) -> Result<(), SealError> {
        for text in sealed {
            let Some(rest) = text.strip_prefix(ENVELOPE_PREFIX) else { continue };
            let wrapped = B64.decode(rest.split(':').next().unwrap_or_default()).map_err(|_| malformed(text))?;
            if self.opened.lock().expect("opened keys").contains_key(&wrapped) {
                continue;
            }
            let key = key_from(&self.keys.unwrap(&wrapped).await.map_err(SealError::KeyService)?)?;
            self.opened.lock().expect("opened keys").insert(wrapped.clone(), key);
            self.current.lock().expect("current key").get_or_insert((wrapped, key));
        }
        Ok(())
    }

    /// Seals `plain` under the current data key ([`Self::ready_to_seal`] first).
    pub fn seal(&self, plain: &[u8]) -> Result<String, SealError> {
        let current = self.current.lock().expect("current key");
        let (wrapped, key) = current
            .as_ref()
            .ok_or_else(|| SealError::KeyService(ProviderError::internal("no data key was made before sealing")))?;
        let nonce = rand::random::<[u8; 24]>();
        let ct = XChaCha20Poly1305::new(key)
            .encrypt(XNonce::from_slice(&nonce), plain)
            .expect("encryption of an in-memory buffer cannot fail");
        Ok(format!("{ENVELOPE_PREFIX}{}:{}:{}", B64.encode(wrapped), B64.encode(nonce), B64.encode(ct)))
    }

    /// Opens a sealed value whose data key was unwrapped ([`Self::ready_to_open`] first).
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(ENVELOPE_PREFIX).ok_or_else(|| malformed(sealed))?;
        let parts: Vec<&str> = rest.split(':').collect();
        let [wrapped, nonce, ct] = parts.as_slice() else { return Err(malformed(sealed)) };
        let decode = |s: &str| B64.decode(s).map_err(|_| malformed(sealed));
        let (wrapped, nonce, ct) = (decode(wrapped)?, decode(nonce)?, decode(ct)?);
        if nonce.len() != 24 {
            return Err(malformed(sealed));
        }
        let key = *self.opened.lock().expect("opened keys").get(&wrapped).ok_or_else(|| {
            SealError::KeyService(ProviderError::internal("its data key was not unwrapped before opening"))
        })?;
        XChaCha20Poly1305::new(&key).decrypt(XNonce::from_slice(&nonce), ct.as_slice()).map_err(|_| SealError::Altered)
    }
}

fn key_from(plain: &[u8]) -> Result<Key, SealError> {
    if plain.len() != 32 {
        return Err(SealError::KeyService(ProviderError::internal(format!(
            "the data key has {} bytes, not 32",
            plain.len()
        ))));
    }
    Ok(*Key::from_slice(plain))
}

fn malformed(sealed: &str) -> SealError {
    SealError::Malformed(sealed.chars().take(24).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A key service for the format's own tests: wraps by XOR with a fixed
    /// mask and counts its calls. (The real one, KMS, is tested end to end
    /// against the emulator.)
    #[derive(Clone, Default)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        refuse: bool,
    }

    #[async_trait::async_trait]
    impl DataKeys for Counting {
        fn describe(&self) -> String {
            "test://key".into()
        }
        async fn generate(&self) -> Result<(Vec<u8>, Vec<u8>), ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let plain = rand::random::<[u8; 32]>().to_vec();
            Ok((plain.clone(), plain.iter().map(|b| b ^ 0x5a).collect()))
        }
        async fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.refuse {
                return Err(ProviderError::new(
                    cairn_core::ErrorCode::PermissionDenied,
                    "AccessDeniedException: not allowed",
                ));
            }
            Ok(wrapped.iter().map(|b| b ^ 0x5a).collect())
        }
    }

    #[tokio::test]
    async fn one_data_key_per_run_and_another_run_opens_it() {
        let keys = Counting::default();
        let a = EnvelopeSealer::new(keys.clone());
        assert!(a.seal(b"x").is_err(), "no key before ready_to_seal");
        a.ready_to_seal().await.unwrap();
        a.ready_to_seal().await.unwrap();
        let (s1, s2) = (a.seal(b"hunter2").unwrap(), a.seal(b"hunter2").unwrap());
        assert_ne!(s1, s2, "fresh nonce per value");
        assert!(s1.starts_with(ENVELOPE_PREFIX) && !s1.contains("hunter2"));
        assert_eq!(keys.calls.load(Ordering::SeqCst), 1, "one data key for the run");

        let b = EnvelopeSealer::new(keys.clone());
        b.ready_to_open(&[&s1, &s2]).await.unwrap();
        assert_eq!(keys.calls.load(Ordering::SeqCst), 2, "one unwrap for both values");
        assert_eq!(b.open(&s2).unwrap(), b"hunter2");
        b.ready_to_seal().await.unwrap();
        assert_eq!(keys.calls.load(Ordering::SeqCst), 2, "the stack's key is reused for sealing");
        assert!(b.seal(b"y").unwrap().split(':').nth(2) == s1.split(':').nth(2), "same wrapped key");
    }

    #[tokio::test]
    async fn refusals_and_tampering_are_errors() {
        let a = EnvelopeSealer::new(Counting::default());
        a.ready_to_seal().await.unwrap();
        let sealed = a.seal(b"x").unwrap();
        let b = EnvelopeSealer::new(Counting { refuse: true, ..Counting::default() });
        let err = b.ready_to_open(&[&sealed]).await.unwrap_err();
        assert!(matches!(&err, SealError::KeyService(m) if m.message.contains("AccessDenied")), "{err}");

        let at = sealed.len() - 5;
        let flipped = if &sealed[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &sealed[..at], &sealed[at + 1..]);
        assert_eq!(a.open(&tampered), Err(SealError::Altered));
        assert!(matches!(a.open("cairn:kms1:nope"), Err(SealError::Malformed(_))));
    }
}
