//! Node-to-node authentication with the cluster secret.
//!
//! The secret never crosses the wire. Every gRPC call carries an `x-marmot-auth` token
//! `v1.<node>.<unix ms>.<nonce>.<mac>`, where `mac` is HMAC-SHA256 under the secret of
//! the other fields. The receiver recomputes it, accepts the timestamp only within
//! [`WINDOW_MS`] of its own clock and remembers every nonce it accepted for that long, so
//! a captured token cannot be replayed. The admin API compares the `X-Marmot-Secret`
//! header (Marmot's interface) in constant time.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// The gRPC metadata key of the token.
pub const HEADER: &str = "x-marmot-auth";
/// How far a token's timestamp may be from the receiver's clock, and how long nonces
/// are remembered.
pub const WINDOW_MS: u64 = 120_000;

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| block.iter().map(|k| k ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// Byte-string equality whose time does not depend on where the strings differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signed_text(node: u64, ts: u64, nonce: &str) -> String {
    format!("marmot-rpc-v1\n{node}\n{ts}\n{nonce}")
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No token, or one that does not parse.
    #[error("invalid cluster secret (no or malformed credentials)")]
    Missing,
    /// The MAC does not match: the caller has another secret.
    #[error("invalid cluster secret")]
    BadMac,
    /// The timestamp is outside the window.
    #[error("invalid cluster secret (credentials expired; are the clocks in sync?)")]
    Expired,
    /// The nonce was seen before.
    #[error("invalid cluster secret (replayed credentials)")]
    Replayed,
}

/// The cluster secret (or none: authentication off).
#[derive(Clone)]
pub struct Secret {
    key: Option<Arc<Vec<u8>>>,
    rng: Arc<Mutex<ChaCha20Rng>>,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    by_time: BTreeSet<(u64, String)>,
    nonces: BTreeSet<String>,
}

fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed)).is_ok();
    if !ok {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        seed[..16].copy_from_slice(&t.to_le_bytes());
        seed[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    }
    seed
}

impl Secret {
    /// `secret` empty = authentication off.
    pub fn new(secret: &str) -> Self {
        Secret {
            key: (!secret.is_empty()).then(|| Arc::new(secret.as_bytes().to_vec())),
            rng: Arc::new(Mutex::new(ChaCha20Rng::from_seed(os_seed()))),
            seen: Arc::default(),
        }
    }

    /// Whether a secret is set.
    pub fn enabled(&self) -> bool {
        self.key.is_some()
    }

    /// A fresh token for a call made by `node` at `now_ms` (`None` when off).
    pub fn token(&self, node: u64, now_ms: u64) -> Option<String> {
        let key = self.key.as_ref()?;
        let mut nonce = [0u8; 16];
        self.rng.lock().expect("rng").fill_bytes(&mut nonce);
        let nonce = hex(&nonce);
        let mac = hmac_sha256(key, signed_text(node, now_ms, &nonce).as_bytes());
        Some(format!("v1.{node}.{now_ms}.{nonce}.{}", hex(&mac)))
    }

    /// Check a token received at `now_ms`; `Ok` also when authentication is off.
    pub fn verify(&self, token: Option<&str>, now_ms: u64) -> Result<(), AuthError> {
        let Some(key) = &self.key else { return Ok(()) };
        let parts: Vec<&str> = token.ok_or(AuthError::Missing)?.split('.').collect();
        let [v, node, ts, nonce, mac] = parts.as_slice() else { return Err(AuthError::Missing) };
        let (Ok(node), Ok(ts)) = (node.parse::<u64>(), ts.parse::<u64>()) else { return Err(AuthError::Missing) };
        if *v != "v1" || nonce.len() != 32 {
            return Err(AuthError::Missing);
        }
        let want = hex(&hmac_sha256(key, signed_text(node, ts, nonce).as_bytes()));
        if !constant_time_eq(want.as_bytes(), mac.as_bytes()) {
            return Err(AuthError::BadMac);
        }
        if ts.abs_diff(now_ms) > WINDOW_MS {
            return Err(AuthError::Expired);
        }
        let mut seen = self.seen.lock().expect("seen");
        while let Some(oldest) = seen.by_time.first().cloned() {
            if oldest.0 + 2 * WINDOW_MS >= now_ms {
                break;
            }
            seen.by_time.remove(&oldest);
            seen.nonces.remove(&oldest.1);
        }
        if seen.nonces.contains(*nonce) {
            return Err(AuthError::Replayed);
        }
        seen.nonces.insert(nonce.to_string());
        seen.by_time.insert((ts, nonce.to_string()));
        Ok(())
    }

    /// Check the admin API's `X-Marmot-Secret` header; `true` also when off.
    pub fn admin_allowed(&self, header: Option<&[u8]>) -> bool {
        match &self.key {
            None => true,
            Some(key) => header.is_some_and(|h| constant_time_eq(h, key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn tokens_prove_the_secret_once_and_only_in_time() {
        let a = Secret::new("s3cret");
        let t = a.token(7, 1_000_000).unwrap();
        assert!(!t.contains("s3cret"));
        assert_eq!(a.verify(Some(&t), 1_000_500), Ok(()));
        assert_eq!(a.verify(Some(&t), 1_000_600), Err(AuthError::Replayed));
        let other = Secret::new("other");
        assert_eq!(other.verify(Some(&a.token(7, 1_000_000).unwrap()), 1_000_000), Err(AuthError::BadMac));
        assert_eq!(a.verify(Some(&a.token(7, 1_000_000).unwrap()), 1_000_000 + WINDOW_MS + 1), Err(AuthError::Expired));
        assert_eq!(a.verify(None, 0), Err(AuthError::Missing));
        assert_eq!(a.verify(Some("v1.1.2.3.4"), 0), Err(AuthError::Missing));
        // A tampered field breaks the MAC.
        let t2 = a.token(7, 1_000_000).unwrap().replacen("v1.7.", "v1.8.", 1);
        assert_eq!(a.verify(Some(&t2), 1_000_000), Err(AuthError::BadMac));
        assert!(Secret::new("").verify(None, 0).is_ok());
    }

    #[test]
    fn admin_header_must_match_when_a_secret_is_set() {
        let s = Secret::new("abc");
        assert!(s.admin_allowed(Some(b"abc")));
        assert!(!s.admin_allowed(Some(b"abd")));
        assert!(!s.admin_allowed(None));
        assert!(Secret::new("").admin_allowed(None));
    }
}
