//! relman changelog.
