//! MySQL's encryption and password functions: AES_ENCRYPT / AES_DECRYPT (MySQL's default
//! `aes-128-ecb`: the key folded into 16 bytes by XOR, PKCS#7 padding, so data encrypted
//! by MySQL decrypts here and back), PASSWORD (the `*`-prefixed double SHA-1 that
//! `mysql_native_password` stores) and RANDOM_BYTES.

use std::sync::{Arc, Mutex};

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes128;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use sha1::{Digest, Sha1};

use super::functions::{bytes, need_args};

const BLOCK: usize = 16;

/// MySQL's key: every byte of the key XORed into a 16-byte buffer, position modulo 16.
fn folded_key(key: &[u8]) -> Aes128 {
    let mut k = [0u8; BLOCK];
    for (i, b) in key.iter().enumerate() {
        k[i % BLOCK] ^= b;
    }
    Aes128::new(&k.into())
}

/// `data` encrypted in ECB mode with PKCS#7 padding (a full block of padding when `data`
/// is a multiple of 16 bytes, as MySQL pads).
pub fn aes_encrypt(data: &[u8], key: &[u8]) -> Vec<u8> {
    let cipher = folded_key(key);
    let pad = BLOCK - data.len() % BLOCK;
    let mut out = data.to_vec();
    out.extend(std::iter::repeat_n(pad as u8, pad));
    for block in out.chunks_mut(BLOCK) {
        cipher.encrypt_block(block.into());
    }
    out
}

/// The plaintext, or `None` (SQL NULL, as MySQL answers) if `data` is not a whole number
/// of blocks or its padding is not valid (a wrong key, most likely).
pub fn aes_decrypt(data: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
        return None;
    }
    let cipher = folded_key(key);
    let mut out = data.to_vec();
    for block in out.chunks_mut(BLOCK) {
        cipher.decrypt_block(block.into());
    }
    let pad = usize::from(*out.last()?);
    if pad == 0 || pad > BLOCK || !out[out.len() - pad..].iter().all(|b| usize::from(*b) == pad) {
        return None;
    }
    out.truncate(out.len() - pad);
    Some(out)
}

/// `*` and the upper-case hex of SHA1(SHA1(password)); the empty password stays empty.
pub fn password_hash(password: &[u8]) -> String {
    if password.is_empty() {
        return String::new();
    }
    format!("*{}", hex::encode_upper(Sha1::digest(Sha1::digest(password))))
}

/// Register the functions on a connection; `seed` seeds RANDOM_BYTES.
pub fn register(conn: &Connection, seed: u64) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("aes_encrypt", -1, det, |ctx| {
        need_args(ctx, 2, 3, "AES_ENCRYPT")?;
        Ok(bytes(ctx, 0).zip(bytes(ctx, 1)).map(|(d, k)| aes_encrypt(&d, &k)))
    })?;
    conn.create_scalar_function("aes_decrypt", -1, det, |ctx| {
        need_args(ctx, 2, 3, "AES_DECRYPT")?;
        Ok(bytes(ctx, 0).zip(bytes(ctx, 1)).and_then(|(d, k)| aes_decrypt(&d, &k)))
    })?;
    conn.create_scalar_function("password", 1, det, |ctx| Ok(bytes(ctx, 0).map(|p| password_hash(&p))))?;
    let rng = Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x5241_4e44_4f4d_4259)));
    conn.create_scalar_function("random_bytes", 1, FunctionFlags::SQLITE_UTF8, move |ctx| {
        let Some(n) = super::functions::int(ctx, 0) else { return Ok(None) };
        if !(0..=1024).contains(&n) {
            // Past MySQL's 1024 bytes, or negative: NULL, as MariaDB answers.
            return Ok(None);
        }
        let mut out = vec![0u8; n as usize];
        rng.lock().expect("rng").fill_bytes(&mut out);
        Ok(Some(out))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_matches_mysql_and_round_trips() {
        // MariaDB: SELECT HEX(AES_ENCRYPT('marmot', 'key'))
        assert_eq!(hex::encode_upper(aes_encrypt(b"marmot", b"key")), "9ECB1F645D229E125A08659986F15327");
        for data in [&b""[..], b"a", b"exactly sixteen!", b"a longer text across three blocks of 16"] {
            let key = b"a key longer than sixteen bytes, folded";
            assert_eq!(aes_decrypt(&aes_encrypt(data, key), key).as_deref(), Some(data));
        }
        assert_eq!(aes_decrypt(&aes_encrypt(b"secret", b"right"), b"wrong"), None);
        assert_eq!(aes_decrypt(b"not a block", b"k"), None);
    }

    #[test]
    fn password_is_mysql_native_passwords_hash() {
        // MySQL: SELECT PASSWORD('secret')
        assert_eq!(password_hash(b"secret"), "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7");
        assert_eq!(password_hash(b""), "");
    }
}
