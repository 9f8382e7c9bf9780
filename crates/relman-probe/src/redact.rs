//! URLs as they may be printed: no user info, token-like query values masked.
//!
//! Monitoring URLs often carry credentials (`https://user:pass@host`, `?api_key=…`), and what
//! a probe prints lands in job summaries, annotations and the audit log.

/// Query keys whose values are masked: anything containing one of these (case-insensitive).
const SECRET_KEYS: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "signature",
    "credential",
    "auth",
    "sig",
    "code",
    "jwt",
    "session",
    "pass",
];

const MASK: &str = "***";

/// A URL cut into the pieces redaction needs. The user info ends at the last `@` before the
/// first `/` or `?` (a password may hold a raw `#`); the fragment starts at the first `#` after it.
struct Parts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn parts(raw: &str) -> Parts<'_> {
    let (scheme, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (userinfo, after_at) = match rest[..end].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (before_fragment, fragment) = split_at_char(after_at, '#');
    let host_end = before_fragment
        .find(['/', '?'])
        .unwrap_or(before_fragment.len());
    let (host, path_query) = before_fragment.split_at(host_end);
    let (path, query) = split_at_char(path_query, '?');
    Parts {
        scheme,
        userinfo,
        host,
        path,
        query,
        fragment,
    }
}

/// `raw` without user info, with secret-looking query values and any fragment (where OAuth
/// puts tokens) replaced by `***`.
pub fn url(raw: &str) -> String {
    let p = parts(raw);
    let mut out = format!("{}{}{}", p.scheme, p.host, p.path);
    if let Some(query) = p.query {
        out.push('?');
        out.push_str(&mask_query(query));
    }
    if let Some(fragment) = p.fragment {
        out.push('#');
        if !fragment.is_empty() {
            out.push_str(MASK);
        }
    }
    out
}

/// `text` (an error message) with every secret of `raw_url` taken out.
pub fn text(text: &str, raw_url: &str) -> String {
    let mut out = text.replace(raw_url, &url(raw_url));
    for secret in secrets(raw_url) {
        out = out.replace(&secret, MASK);
    }
    out
}

/// Whether a query key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key.contains(s))
}

fn mask_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if is_secret_key(k) && !v.is_empty() => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The user info, secret query values and fragment of `raw`, as they appear in it.
fn secrets(raw: &str) -> Vec<String> {
    let p = parts(raw);
    let mut out = Vec::new();
    if let Some(userinfo) = p.userinfo {
        let password = userinfo.split_once(':').map_or(userinfo, |(_, p)| p);
        out.extend([userinfo, password].into_iter().map(String::from));
    }
    if let Some(query) = p.query {
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && is_secret_key(k)
            {
                out.push(v.to_string());
            }
        }
    }
    out.extend(p.fragment.map(String::from));
    out.retain(|s| !s.is_empty());
    // Longest first, so a password inside the user info does not leave the user name half-cut.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

fn split_at_char(s: &str, c: char) -> (&str, Option<&str>) {
    match s.split_once(c) {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_user_info_and_masks_secret_query_values() {
        assert_eq!(
            url(
                "https://bob:hunter2@status.example.com:8443/healthz?verbose=1&api_key=abc&Token=x#top"
            ),
            "https://status.example.com:8443/healthz?verbose=1&api_key=***&Token=***#***"
        );
        assert_eq!(url("http://prom:9090"), "http://prom:9090");
        assert_eq!(url("http://t@h?x-auth-sig="), "http://h?x-auth-sig=");
        assert_eq!(
            url("https://h/p?client_secret=s&password=p&q=up"),
            "https://h/p?client_secret=***&password=***&q=up"
        );
    }

    #[test]
    fn signatures_codes_fragments_and_passwords_with_hash_are_masked() {
        // Issue #12 finding 10.
        assert_eq!(
            url("https://h/x?sig=AbC&code=123&sv=2021#access_token=tok"),
            "https://h/x?sig=***&code=***&sv=2021#***"
        );
        assert_eq!(url("https://bob:pa#ss@h:1/x"), "https://h:1/x");
        assert_eq!(url("https://bob:pa#ss@h"), "https://h");
        assert_eq!(url("http://h#"), "http://h#");
        let raw = "https://bob:pa#ss@h/x?X-Amz-Signature=s1g#frag-secret";
        let shown = text(&format!("error for {raw}: pa#ss s1g frag-secret"), raw);
        for secret in ["pa#ss", "s1g", "frag-secret", "bob"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn error_text_loses_the_secrets_of_its_url() {
        let raw = "https://bob:hunter2@h/x?token=abc";
        assert_eq!(
            text(
                &format!("bad uri {raw}; host h; password hunter2, abc"),
                raw
            ),
            "bad uri https://h/x?token=***; host h; password ***, ***"
        );
    }
}
