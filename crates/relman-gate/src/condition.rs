//! condition (in progress)
