//! Password rules and hashing. A password has at least 10 characters, not
//! all whitespace, and is not a common password (a list shipped in the
//! binary, see NOTICE), also after its trailing digits and symbols are
//! dropped ("dragon2026!" is "dragon"). Hashing is argon2id (the crate's
//! default parameters), run on the blocking pool because each hash takes
//! tens of milliseconds of CPU.

use crate::error::{AppError, AppResult};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use std::collections::HashSet;
use std::sync::LazyLock;

pub const MIN_CHARS: usize = 10;
pub const MAX_BYTES: usize = 1024;

/// The 5,000 most common passwords of zxcvbn's list, lower-cased.
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common-passwords.txt").lines().collect());

/// Why `password` may not be used, if it may not (`username` is the account's).
pub fn weakness(password: &str, username: &str) -> Option<String> {
    if password.chars().count() < MIN_CHARS {
        return Some(format!(
            "password must have at least {MIN_CHARS} characters"
        ));
    }
    if password.len() > MAX_BYTES {
        return Some(format!("password must have at most {MAX_BYTES} bytes"));
    }
    if password.chars().all(char::is_whitespace) {
        return Some("password must not be only spaces".into());
    }
    let lower = password.trim().to_lowercase();
    let base = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if COMMON.contains(lower.as_str()) || (base.len() >= 4 && COMMON.contains(base)) {
        return Some("password is too common; choose another".into());
    }
    let first = lower.chars().next();
    if lower.chars().all(|c| Some(c) == first) {
        return Some("password must not be one character repeated".into());
    }
    let user = username.to_lowercase();
    if !user.is_empty() {
        let rest = lower.replace(&user, "");
        let rest = rest.trim_matches(|c: char| {
            c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace()
        });
        if rest.chars().count() < 4 {
            return Some("password must not be mostly the username".into());
        }
    }
    None
}

/// [`weakness`] as a 422.
pub fn check(password: &str, username: &str) -> AppResult<()> {
    match weakness(password, username) {
        Some(why) => Err(AppError::unprocessable(why)),
        None => Ok(()),
    }
}

pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// Whether `password` matches `stored` (a PHC string). With `stored = None`
/// a dummy hash is checked so an unknown username costs the same time.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(AppError::internal)
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3Wq1i7H6jmXKCCXGf3iUU1Ex1y2zy1g8CEFzYb3pbJE";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused() {
        assert_eq!(COMMON.len(), 5000);
        for bad in [
            "        ",
            "          ",
            "\t\t\t\t\t\t\t\t\t\t",
            "short",
            "qwertyuiop",
            "QWERTYUIOP",
            "1234567890",
            "password123",
            "Password2026!",
            "dragon!!!!!!",
            "aaaaaaaaaaaa",
            "annann-2026",
        ] {
            assert!(weakness(bad, "ann").is_some(), "{bad:?} accepted");
        }
        for good in ["correct horse", "tricky-Vole-47", "ann's harbour lights"] {
            assert_eq!(weakness(good, "ann"), None, "{good:?} refused");
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
