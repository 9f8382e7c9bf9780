//! A scripted, fault-injecting forge stand-in for tests: a loopback HTTP/1.1 server whose
//! answers come from a small stateful fake of GitHub or GitLab ([`Fake`]) and whose faults
//! come from a script of [`Rule`]s.
//!
//! wiremock answers from fixed mocks; the fault suites need more: a forge that remembers what
//! was created (so a lost answer can be found again), a connection dropped half way through a
//! body, another client acting between relman's read and its write. Every request is logged
//! with the fault it met, so a test counts the POSTs that reached the forge and the side
//! effects the forge made.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

/// One request as the fake sees it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// The path without the query, still percent-encoded.
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
}

impl Request {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A query parameter, as sent (not decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// An answer: status, headers, body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn empty(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Answer {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A forge's behaviour, minus the faults.
pub(crate) trait Fake: Send + 'static {
    /// Answers `req`; `base` is the server's own URL (for pagination links).
    fn handle(&mut self, req: &Request, base: &str) -> Answer;
    /// What another client does just before `req` reaches the forge (it creates the release,
    /// deployment or run `req` is about to create).
    fn race(&mut self, req: &Request);
    /// Changes a listing between two pages (a new item arrives at its head).
    fn shift(&mut self, req: &Request);
    /// Itself, so a test can read its concrete state.
    fn as_any(&mut self) -> &mut dyn std::any::Any;
}

/// A fault, as a forge or the network between inflicts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 503 before the forge does anything.
    Unavailable,
    /// The forge does the work, the answer is lost: 502 from a proxy in front of it.
    LostAnswer,
    /// The forge does the work; the connection closes half way through the answer's body.
    DropMidBody,
    /// The forge does the work but answers only after this long (past the client's timeout).
    Slow(Duration),
    /// 403 "secondary rate limit" with `retry-after: 1`, before the forge does anything.
    SecondaryLimit,
    /// 429 with `retry-after` in seconds, before the forge does anything.
    TooMany(u64),
    /// 429 with `retry-after` as an HTTP date this many seconds ahead.
    TooManyUntil(u64),
    /// 403 "secondary rate limit" without any header, before the forge does anything.
    SecondaryBare,
    /// The primary limit is spent: `remaining: 0` and `reset` this many seconds ahead, in
    /// the named headers; on a 403 before the forge does anything (`status`), or on the
    /// forge's own answer (`None`).
    Spent {
        headers: crate::policy::RateHeaders,
        in_secs: i64,
        status: Option<u16>,
    },
    /// Another client creates the same thing just before this request (see [`Fake::race`]).
    Race,
    /// The listing changes before this page is served (see [`Fake::shift`]).
    Shift,
}

/// Applies `fault` to the requests matching `method` and a path containing `path`: the
/// `skip`-th matching one (0-based) and the `times - 1` after it.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub skip: usize,
    pub times: usize,
    pub fault: Fault,
}

impl Rule {
    pub fn on(method: &'static str, path: &'static str, fault: Fault) -> Rule {
        Rule {
            method,
            path,
            skip: 0,
            times: 1,
            fault,
        }
    }

    pub fn times(mut self, n: usize) -> Rule {
        self.times = n;
        self
    }

    pub fn skip(mut self, n: usize) -> Rule {
        self.skip = n;
        self
    }
}

/// One request served: what it was and which fault it met.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub method: String,
    pub path: String,
    pub fault: Option<Fault>,
}

struct State {
    fake: Box<dyn Fake>,
    rules: Vec<(Rule, usize)>,
    log: Vec<Logged>,
}

/// The running stand-in. Its thread lives as long as the test process; each test starts its own.
pub(crate) struct Standin {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Standin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standin").field("url", &self.url).finish()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Standin {
    pub fn start(fake: impl Fake, rules: Vec<Rule>) -> Standin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State {
            fake: Box::new(fake),
            rules: rules.into_iter().map(|r| (r, 0)).collect(),
            log: Vec::new(),
        }));
        let shared = Arc::clone(&state);
        let base = url.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                let base = base.clone();
                std::thread::spawn(move || serve(stream, &state, &base));
            }
        });
        Standin { url, state }
    }

    /// Every request served so far.
    pub fn log(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }

    /// Requests with `method` whose path contains `path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.log()
            .iter()
            .filter(|l| l.method == method && l.path.contains(path))
            .count()
    }

    /// Faults inflicted so far.
    pub fn faults(&self) -> usize {
        self.log().iter().filter(|l| l.fault.is_some()).count()
    }

    /// Reads the fake's state (what was created, how often).
    pub fn fake<F: Fake, T>(&self, f: impl FnOnce(&mut F) -> T) -> T {
        let mut st = lock(&self.state);
        f(st.fake
            .as_any()
            .downcast_mut::<F>()
            .expect("the fake's type"))
    }
}

/// Serves the requests of one connection (keep-alive) until the client closes it.
fn serve(stream: TcpStream, state: &Mutex<State>, base: &str) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    while let Some(req) = read_request(&mut reader) {
        let (answer, fault) = {
            let mut st = lock(state);
            let fault = st.rules.iter_mut().find_map(|(rule, seen)| {
                if rule.method != req.method || !req.path.contains(rule.path) {
                    return None;
                }
                *seen += 1;
                (*seen > rule.skip && *seen <= rule.skip + rule.times).then_some(rule.fault)
            });
            st.log.push(Logged {
                method: req.method.clone(),
                path: req.path.clone(),
                fault,
            });
            let answer = match fault {
                Some(Fault::Unavailable) => Answer::json(503, serde_json::json!({"message": "unavailable"})),
                Some(Fault::SecondaryLimit) => Answer::json(
                    403,
                    serde_json::json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
                )
                .with_header("retry-after", "1"),
                Some(Fault::TooMany(secs)) => {
                    Answer::json(429, serde_json::json!({"message": "Too Many Requests"}))
                        .with_header("retry-after", secs.to_string())
                }
                Some(Fault::TooManyUntil(secs)) => {
                    let at = jiff::Timestamp::now()
                        .checked_add(Duration::from_secs(secs))
                        .expect("a date ahead");
                    let date = jiff::fmt::rfc2822::DateTimePrinter::new()
                        .timestamp_to_rfc9110_string(&at)
                        .expect("an HTTP date");
                    Answer::json(429, serde_json::json!({"message": "Too Many Requests"}))
                        .with_header("retry-after", date)
                }
                Some(Fault::SecondaryBare) => Answer::json(
                    403,
                    serde_json::json!({"message": "You have exceeded a secondary rate limit."}),
                ),
                Some(Fault::Spent {
                    headers,
                    in_secs,
                    status,
                }) => {
                    let answer = match status {
                        Some(status) => Answer::json(
                            status,
                            serde_json::json!({"message": "API rate limit exceeded"}),
                        ),
                        None => st.fake.handle(&req, base),
                    };
                    let reset = jiff::Timestamp::now().as_second() + in_secs;
                    answer
                        .with_header(headers.remaining, "0")
                        .with_header(headers.reset, reset.to_string())
                }
                Some(Fault::Race) => {
                    st.fake.race(&req);
                    st.fake.handle(&req, base)
                }
                Some(Fault::Shift) => {
                    st.fake.shift(&req);
                    st.fake.handle(&req, base)
                }
                Some(Fault::LostAnswer) => {
                    st.fake.handle(&req, base);
                    Answer::json(502, serde_json::json!({"message": "Bad Gateway"}))
                }
                Some(Fault::DropMidBody | Fault::Slow(_)) | None => st.fake.handle(&req, base),
            };
            (answer, fault)
        };
        if let Some(Fault::Slow(d)) = fault {
            std::thread::sleep(d);
        }
        let truncate = fault == Some(Fault::DropMidBody);
        if write_answer(&mut out, &answer, truncate).is_err() || truncate {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok().filter(|n| *n > 0)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Request {
        method,
        path,
        query,
        body,
    })
}

fn write_answer(out: &mut TcpStream, a: &Answer, truncate: bool) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
        a.status,
        a.body.len()
    );
    for (k, v) in &a.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if truncate {
        // Half the body (at least one byte short), then the connection goes.
        out.write_all(&a.body[..a.body.len() / 2])?;
        out.flush()?;
        return out.shutdown(std::net::Shutdown::Both);
    }
    out.write_all(&a.body)?;
    out.flush()
}
