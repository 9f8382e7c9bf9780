//! evaluate (in progress)
