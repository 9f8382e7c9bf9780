//! A tiny HTTP proxy for tests: it records what clients send it and answers every request
//! itself (`404` with a JSON message, or `407` to a `CONNECT`), one connection at a time.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request the proxy received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// `GET http://127.0.0.1:1234/path HTTP/1.1`, or `CONNECT host:port HTTP/1.1`.
    pub line: String,
    pub proxy_authorization: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Debug)]
pub(crate) struct RecordingProxy {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RecordingProxy {
    pub fn start() -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        // The thread ends with the test process; it only ever blocks in accept.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(read_half) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(read_half);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut seen = Seen {
                    line: line.trim_end().to_string(),
                    proxy_authorization: None,
                    authorization: None,
                };
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.trim_end().split_once(':') {
                        let value = Some(value.trim().to_string());
                        match name.to_ascii_lowercase().as_str() {
                            "proxy-authorization" => seen.proxy_authorization = value,
                            "authorization" => seen.authorization = value,
                            _ => {}
                        }
                    }
                }
                let connect = seen.line.starts_with("CONNECT ");
                log.lock().expect("lock").push(seen);
                let body = r#"{"message":"Not Found"}"#;
                let answer = if connect {
                    "HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\
                     connection: close\r\n\r\n"
                        .to_string()
                } else {
                    format!(
                        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        RecordingProxy { port, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}
