//! URLs as they may be printed: no user info, token-like query values masked.
//!
//! Monitoring URLs often carry credentials (`https://user:pass@host`, `?api_key=…`), and what
//! the gate prints lands in job summaries, annotations and the audit log.

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
];

const MASK: &str = "***";

/// `raw` without user info and with secret-looking query values replaced by `***`.
pub fn url(raw: &str) -> String {
    let (before_fragment, fragment) = split_at_char(raw, '#');
    let (scheme, rest) = match before_fragment.find("://") {
        Some(i) => before_fragment.split_at(i + 3),
        None => ("", before_fragment),
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (path, query) = split_at_char(rest, '?');
    let mut out = format!("{scheme}{host}{path}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(&mask_query(query));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
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

/// The user info and secret query values of `raw`, as they appear in it.
fn secrets(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        let password = userinfo.split_once(':').map_or(userinfo, |(_, p)| p);
        out.extend(
            [userinfo, password]
                .into_iter()
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    let (before_fragment, _) = split_at_char(raw, '#');
    if let (_, Some(query)) = split_at_char(before_fragment, '?') {
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && is_secret_key(k)
                && !v.is_empty()
            {
                out.push(v.to_string());
            }
        }
    }
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
            "https://status.example.com:8443/healthz?verbose=1&api_key=***&Token=***#top"
        );
        assert_eq!(url("http://prom:9090"), "http://prom:9090");
        assert_eq!(url("http://t@h?x-auth-sig="), "http://h?x-auth-sig=");
        assert_eq!(
            url("https://h/p?client_secret=s&password=p&q=up"),
            "https://h/p?client_secret=***&password=***&q=up"
        );
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
