//! Next version from a set of entries (semver), placeholder.
