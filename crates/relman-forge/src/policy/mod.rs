//! The one request policy of both forge backends: when to retry and how long to wait, what
//! a rate limit says, which pagination links to follow and how many pages, how many requests
//! a run may send, how a path segment is encoded.
//!
//! It decides; it does not send. Every decision is a pure function of the attempt number,
//! the answer's status, headers and body, and the clock (passed in), plus an injected
//! [`Sleeper`], so it is tested here without HTTP. The backends keep only their dialect:
//! authentication headers, how their transport sends bytes (octocrab's raw `execute` for
//! GitHub, ureq for GitLab), which rate-limit headers they read ([`RateHeaders`]) and the
//! shape of their error bodies.

pub(crate) mod budget;
pub(crate) mod encode;
pub(crate) mod pages;
pub(crate) mod retry;
pub(crate) mod retry_after;

pub(crate) use budget::Budget;
pub(crate) use encode::encode;
pub(crate) use pages::Pages;
pub(crate) use retry::{Idempotent, Policy, Sleeper, Step};
pub(crate) use retry_after::{RateHeaders, Throttle};
#[cfg(test)]
pub(crate) mod suite;
