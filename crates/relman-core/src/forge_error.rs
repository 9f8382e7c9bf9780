//! A failed request to a forge's API, typed so that a caller can tell what happened: a 404
//! ("there is none") from a 409/422 (a conflict to look at) from a transient failure (worth a
//! later retry) from relman's own bug. It lives in the core because [`crate::Error`] carries
//! it; the backends that build it live in `relman-forge`.

/// What kind of failure a [`ForgeError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeErrorKind {
    /// The forge answered with a status the caller did not expect.
    Status { status: u16 },
    /// The forge's rate limit is spent until `until` (when it said), longer than relman waits.
    RateLimited { until: Option<jiff::Timestamp> },
    /// No usable answer: connection refused or reset, timeout, a body cut short.
    Transport,
    /// An answer that is not what the API documents (malformed JSON, a missing field).
    Malformed,
    /// A listing went on past the page cap: refused rather than read as complete.
    PageCap { pages: usize },
    /// A next-page link pointed off the API's scheme, host and port (or outside its path):
    /// not followed, since the token would go there.
    ForeignLink,
    /// The run's request budget is spent; the request was not sent.
    BudgetSpent { budget: u32 },
    /// relman could not build or encode its own request: a bug in relman, not bad input.
    Request,
    /// relman could not set up its client for the forge (the platform's trusted CAs, the HTTP
    /// runtime): nothing was sent. The runner's environment, not the forge and not the input.
    Setup,
    /// A GraphQL answer (GitHub answers these with 200) that holds errors instead of the data
    /// asked for; `types` are the errors' `type`s (`NOT_FOUND`, `FORBIDDEN`, `RATE_LIMITED`),
    /// in order, for callers to tell them apart.
    GraphQl { types: Vec<String> },
    /// The forge has not finished preparing what was asked (a merge request's diff is still
    /// being computed): asking again later should succeed.
    NotReady,
}

/// A request to a forge that failed. The message names the backend and endpoint (method and
/// path, never the query or a header) and, for a status, the forge's own message cut short
/// with any token removed.
#[derive(Debug, thiserror::Error)]
#[error("{backend}: {message}")]
pub struct ForgeError {
    /// `github` or `gitlab`.
    pub backend: String,
    /// `GET /repos/o/r/releases` (no host, no query); empty when no request was involved.
    pub endpoint: String,
    pub kind: ForgeErrorKind,
    /// The whole human-readable text after the backend name.
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ForgeError {
    pub fn new(
        backend: impl Into<String>,
        endpoint: impl Into<String>,
        kind: ForgeErrorKind,
        message: impl Into<String>,
    ) -> Self {
        ForgeError {
            backend: backend.into(),
            endpoint: endpoint.into(),
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `source` as the cause (a transport or JSON error).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The HTTP status, when the forge answered with one.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ForgeErrorKind::Status { status } => Some(status),
            _ => None,
        }
    }

    /// Worth trying again later, unchanged: a transport failure, a 5xx, a rate limit (also a
    /// GraphQL one), an object the forge is still preparing.
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            ForgeErrorKind::Transport
            | ForgeErrorKind::RateLimited { .. }
            | ForgeErrorKind::NotReady => true,
            ForgeErrorKind::Status { status } => *status >= 500 || *status == 429,
            ForgeErrorKind::GraphQl { types } => types.iter().any(|t| t == "RATE_LIMITED"),
            ForgeErrorKind::Malformed
            | ForgeErrorKind::PageCap { .. }
            | ForgeErrorKind::ForeignLink
            | ForgeErrorKind::BudgetSpent { .. }
            | ForgeErrorKind::Request
            | ForgeErrorKind::Setup => false,
        }
    }
}

impl From<ForgeError> for crate::Error {
    fn from(e: ForgeError) -> Self {
        crate::Error::Api(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ExitCode};

    fn err(kind: ForgeErrorKind) -> Error {
        ForgeError::new(
            "github",
            "GET /repos/o/r",
            kind,
            "GET /repos/o/r: it failed",
        )
        .into()
    }

    #[test]
    fn every_kind_is_an_external_failure_named_by_backend_and_endpoint() {
        for kind in [
            ForgeErrorKind::Status { status: 404 },
            ForgeErrorKind::RateLimited { until: None },
            ForgeErrorKind::Transport,
            ForgeErrorKind::Malformed,
            ForgeErrorKind::PageCap { pages: 100 },
            ForgeErrorKind::ForeignLink,
            ForgeErrorKind::BudgetSpent { budget: 5 },
            // relman's own request that cannot be encoded is a bug: exit 3, never 2.
            ForgeErrorKind::Request,
            // A runner without trusted CAs cannot reach the forge: exit 3, like the network.
            ForgeErrorKind::Setup,
            ForgeErrorKind::GraphQl {
                types: vec!["NOT_FOUND".into()],
            },
            ForgeErrorKind::NotReady,
        ] {
            let e = err(kind.clone());
            assert_eq!(e.exit_code(), ExitCode::External, "{kind:?}");
            assert_eq!(e.to_string(), "github: GET /repos/o/r: it failed");
        }
    }

    #[test]
    fn callers_tell_a_404_from_a_conflict_from_a_transient_failure() {
        let kinds = |e: &Error| match e {
            Error::Api(f) => (f.status(), f.is_transient()),
            _ => panic!("not a forge error: {e}"),
        };
        assert_eq!(
            kinds(&err(ForgeErrorKind::Status { status: 404 })),
            (Some(404), false)
        );
        assert_eq!(
            kinds(&err(ForgeErrorKind::Status { status: 409 })),
            (Some(409), false)
        );
        assert_eq!(
            kinds(&err(ForgeErrorKind::Status { status: 422 })),
            (Some(422), false)
        );
        assert_eq!(
            kinds(&err(ForgeErrorKind::Status { status: 503 })),
            (Some(503), true)
        );
        assert_eq!(kinds(&err(ForgeErrorKind::Transport)), (None, true));
        assert_eq!(kinds(&err(ForgeErrorKind::Malformed)), (None, false));
        assert_eq!(
            kinds(&err(ForgeErrorKind::PageCap { pages: 3 })),
            (None, false)
        );
        assert_eq!(kinds(&err(ForgeErrorKind::ForeignLink)), (None, false));
        assert_eq!(kinds(&err(ForgeErrorKind::Setup)), (None, false));
        assert_eq!(kinds(&err(ForgeErrorKind::NotReady)), (None, true));
        let graphql = |types: &[&str]| {
            err(ForgeErrorKind::GraphQl {
                types: types.iter().map(|t| t.to_string()).collect(),
            })
        };
        // A repository GraphQL cannot see stays so; a spent GraphQL rate limit passes.
        assert_eq!(kinds(&graphql(&["NOT_FOUND"])), (None, false));
        assert_eq!(kinds(&graphql(&["RATE_LIMITED"])), (None, true));
    }

    #[test]
    fn the_source_is_kept_as_the_cause() {
        let json = serde_json::from_str::<u8>("x").expect_err("bad json");
        let e = ForgeError::new("gitlab", "GET /x", ForgeErrorKind::Malformed, "GET /x: bad")
            .with_source(json);
        assert!(std::error::Error::source(&e).is_some());
    }
}
