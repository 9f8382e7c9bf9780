//! Placeholder replaced by the parser implementation.
use super::Entry;

/// Options that change how messages split into entries.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Split squash-merge bodies that list several conventional commits into several entries.
    pub split_squash: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { split_squash: true }
    }
}

/// Parses one commit message into its entries (at least one, even for an empty message).
pub fn parse_message(_message: &[u8], _opts: &ParseOptions) -> Vec<Entry> {
    Vec::new()
}
