//! The server's response helpers: the body type every route answers
//! with, and whole text and JSON responses.

use std::convert::Infallible;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// Every response's body: whole (pages, JSON) or streamed (`/listen`).
pub(super) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A whole body.
pub(super) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// A whole text response.
pub(super) fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A whole JSON response.
pub(super) fn json_response(v: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// "1 listener", "2 listeners".
pub(super) fn listeners(n: u64) -> String {
    if n == 1 {
        "1 listener".into()
    } else {
        format!("{n} listeners")
    }
}

/// Whether the request's `Accept-Encoding` takes gzip (by name or `*`,
/// with a weight above zero).
pub(super) fn accepts_gzip<B>(req: &hyper::Request<B>) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    fn asking(encodings: &[&str]) -> hyper::Request<()> {
        let mut b = hyper::Request::builder();
        for e in encodings {
            b = b.header("accept-encoding", *e);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn gzip_only_when_the_client_takes_it() {
        assert!(accepts_gzip(&asking(&["gzip, deflate, br"])));
        assert!(accepts_gzip(&asking(&["br", "GZIP;q=0.5"])));
        assert!(accepts_gzip(&asking(&["*"])));
        assert!(!accepts_gzip(&asking(&[])));
        assert!(!accepts_gzip(&asking(&["br, deflate"])));
        assert!(!accepts_gzip(&asking(&["gzip;q=0"])));
        assert!(!accepts_gzip(&asking(&["xgzip"])));
    }
}
