//! The frame every explorer page shares — doctype, language, the pinned
//! log key, navigation, stylesheet — and the escaping every string from
//! the log goes through.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;

/// Text for an HTML text node or a double-quoted attribute: `& < > " '`
/// are escaped, so log text can neither open a tag nor leave an attribute.
pub fn esc(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

/// A query string (`a=1&b=2`, form-encoded) for a link.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// The link to a package's timeline.
pub fn package_href(registry: &str, package: &str) -> String {
    format!(
        "/package?{}",
        query(&[("registry", registry), ("package", package)])
    )
}

/// What a page needs from the server to be framed.
pub struct Frame<'a> {
    /// The log's origin.
    pub origin: &'a str,
    /// The log's verifier key text, pinned for the in-browser checks.
    pub log_key: &'a str,
}

/// A whole page: `title` (plain text) and `body` (HTML already escaped).
pub fn html(frame: &Frame<'_>, title: &str, body: &str) -> String {
    let title = esc(title);
    let origin = esc(frame.origin);
    let key = esc(frame.log_key);
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="gatelog-log-key" content="{key}">
<title>{title} · gatelog explorer</title>
<link rel="stylesheet" href="/explorer/style.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Explorer">
<a class="brand" href="/">gatelog explorer</a>
<a href="/">Search</a>
<a href="/tree">Tree</a>
</nav>
<p class="origin">Log <code>{origin}</code></p>
</header>
<main id="main">
{body}
</main>
<footer>
<p>Read-only view of the log. The log key pinned in this page:
<code class="key">{key}</code>. If you do not trust this server, compare it
with the key you pinned yourself before relying on the checks.</p>
<p>JSON API: <a href="/checkpoint">/checkpoint</a>, <code>/v1/events</code>,
<code>/v1/entries/{{index}}</code>.</p>
</footer>
</body>
</html>
"##
    )
}

/// An HTML answer with headers that keep the page to its own scripts.
pub fn respond(status: StatusCode, page: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self'; style-src 'self'; \
                 connect-src 'self'; img-src 'self'; form-action 'self'; \
                 base-uri 'none'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        page,
    )
        .into_response()
}

/// An error as a page: the status and the API's message, escaped.
pub fn error_page(frame: &Frame<'_>, e: &ApiError) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n<p><a href=\"/\">Back to search</a></p>",
        esc(e.status.canonical_reason().unwrap_or("Error")),
        esc(&e.message)
    );
    let mut resp = respond(e.status, html(frame, "Error", &body));
    if let Some(s) = e.retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, s.into());
    }
    resp
}

/// Milliseconds since the epoch as RFC 3339 (UTC), or the number itself.
pub fn time_ms(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_closes_every_way_out_of_text_and_attributes() {
        let e = esc(r#"<script>"x"&'y'</script>"#);
        assert!(!e.contains('<') && !e.contains('"') && !e.contains('\''));
        assert!(e.contains("&lt;script&gt;"));
        assert!(e.contains("&amp;"));
    }

    #[test]
    fn links_encode_their_query() {
        assert_eq!(
            package_href("registry.example", "@a/b&c"),
            "/package?registry=registry.example&package=%40a%2Fb%26c"
        );
    }

    #[test]
    fn log_times_are_rfc3339() {
        assert_eq!(time_ms(1_780_000_000_123), "2026-05-28T20:26:40.123Z");
    }
}
