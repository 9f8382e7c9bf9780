//! Unpredictable tokens for heredoc delimiters and `::stop-commands::`, from the operating
//! system's random source (`getrandom`, already in the build through the TLS stack).
//!
//! 128 bits: text written before the token was drawn (a commit message) cannot contain it, and
//! callers still re-draw on a collision. If the OS source fails (it does not on the platforms
//! relman ships for), std's `RandomState` — itself seeded from the OS once per thread — mixed
//! with a counter and the clock stands in, so output never stops.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn fallback() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish()
}

fn draw128() -> u128 {
    let mut buf = [0u8; 16];
    match getrandom::fill(&mut buf) {
        Ok(()) => u128::from_le_bytes(buf),
        Err(_) => (u128::from(fallback()) << 64) | u128::from(fallback()),
    }
}

/// A random token of 32 lowercase hex digits, prefixed (e.g. `ghadelimiter_…`).
pub fn token(prefix: &str) -> String {
    format!("{prefix}{:032x}", draw128())
}

/// A token that does not occur in `text` (re-drawn until it does not).
pub fn token_not_in(prefix: &str, text: &str) -> String {
    loop {
        let t = token(prefix);
        if !text.contains(&t) {
            return t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_well_formed() {
        let a = token("p_");
        let b = token("p_");
        assert_ne!(a, b);
        assert_eq!(a.len(), 2 + 32);
        assert!(a[2..].chars().all(|c| c.is_ascii_hexdigit()));
        let many: std::collections::HashSet<String> = (0..1000).map(|_| token("")).collect();
        assert_eq!(many.len(), 1000);
    }

    #[test]
    fn token_not_in_avoids_the_text() {
        let t = token_not_in("x", "");
        assert!(t.starts_with('x'));
        // A text holding many tokens still never holds the one returned.
        let text: String = (0..100).map(|_| token("x")).collect::<Vec<_>>().join("\n");
        assert!(!text.contains(&token_not_in("x", &text)));
    }
}
