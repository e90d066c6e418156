//! `mysql_native_password`: the client proves knowledge of the password with
//! `SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))`; the server stores only `SHA1(SHA1(pw))`.

use sha1::{Digest, Sha1};

/// What the server keeps of a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordHash(Option<[u8; 20]>);

impl PasswordHash {
    /// From a clear-text password (empty = no password).
    pub fn new(password: &str) -> Self {
        if password.is_empty() {
            return PasswordHash(None);
        }
        let stage1 = Sha1::digest(password.as_bytes());
        PasswordHash(Some(Sha1::digest(stage1).into()))
    }

    /// Check a client's token against a scramble.
    pub fn verify(&self, scramble: &[u8], token: &[u8]) -> bool {
        match self.0 {
            None => token.is_empty(),
            Some(stage2) => {
                if token.len() != 20 {
                    return false;
                }
                let mut h = Sha1::new();
                h.update(scramble);
                h.update(stage2);
                let mask = h.finalize();
                let stage1: Vec<u8> = token.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect();
                let check: [u8; 20] = Sha1::digest(&stage1).into();
                // Constant-time comparison.
                check.iter().zip(stage2.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
            }
        }
    }
}

/// What a client computes (for tests).
pub fn client_token(password: &str, scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = Sha1::digest(password.as_bytes());
    let stage2 = Sha1::digest(stage1);
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stage2);
    let mask = h.finalize();
    stage1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_password_passes_wrong_fails() {
        let s = b"0123456789abcdefghij";
        let h = PasswordHash::new("secret");
        assert!(h.verify(s, &client_token("secret", s)));
        assert!(!h.verify(s, &client_token("Secret", s)));
        assert!(!h.verify(s, &[]));
        assert!(!h.verify(s, &[1, 2, 3]));
        let empty = PasswordHash::new("");
        assert!(empty.verify(s, &[]));
        assert!(!empty.verify(s, &client_token("x", s)));
    }
}
