//! Template environment shared by every concern.
