//! The per-run request budget: every HTTP request a backend sends (retries included) counts,
//! so a run that loops or pages without end stops with a clear error instead of spending the
//! forge's rate limit for every other job of the project.

use std::sync::atomic::{AtomicU32, Ordering};

use relman_core::error::{Error, ForgeError, ForgeErrorKind};

#[derive(Debug)]
pub(crate) struct Budget {
    limit: u32,
    used: AtomicU32,
}

impl Budget {
    pub fn new(limit: u32) -> Budget {
        Budget {
            limit,
            used: AtomicU32::new(0),
        }
    }

    /// Requests sent so far.
    pub fn used(&self) -> u32 {
        self.used.load(Ordering::SeqCst)
    }

    /// Takes one request from the budget, or fails (budget spent) naming the request that was
    /// not sent; a refused request does not count as sent.
    pub fn take(&self, backend: &str, endpoint: &str) -> Result<(), Error> {
        let taken = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.limit).then_some(n + 1)
            });
        match taken {
            Ok(_) => Ok(()),
            Err(_) => Err(ForgeError::new(
                backend,
                endpoint,
                ForgeErrorKind::BudgetSpent { budget: self.limit },
                format!(
                    "{endpoint}: request budget of {} requests for this run is spent; the \
                     request was not sent (raise the forge request budget or narrow the query)",
                    self.limit
                ),
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_past_the_budget_fails_budget_spent_and_is_not_counted() {
        let b = Budget::new(2);
        b.take("gitlab", "GET /x").expect("1");
        b.take("gitlab", "GET /x").expect("2");
        let err = b.take("gitlab", "GET /y").expect_err("3");
        match &err {
            Error::Api(e) => {
                assert_eq!(e.kind, ForgeErrorKind::BudgetSpent { budget: 2 });
                assert_eq!(e.endpoint, "GET /y");
                assert!(!e.is_transient());
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("gitlab: GET /y: request budget of 2 requests"),
            "{err}"
        );
        assert_eq!(b.used(), 2);
        assert!(Budget::new(0).take("github", "GET /").is_err());
    }
}
