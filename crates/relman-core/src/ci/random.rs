//! Unpredictable tokens for heredoc delimiters and `::stop-commands::`, without a dependency.
//!
//! `std`'s `RandomState` is seeded from the operating system's random source once per thread
//! and advanced for each new instance; hashing a counter through a fresh instance yields 64
//! unpredictable bits. Two draws give 128 bits: enough that text written before the token was
//! drawn (a commit message) cannot contain it, and callers still re-draw on a collision.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn draw() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish()
}

/// A random token of 32 lowercase hex digits, prefixed (e.g. `ghadelimiter_…`).
pub fn token(prefix: &str) -> String {
    format!("{prefix}{:016x}{:016x}", draw(), draw())
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
