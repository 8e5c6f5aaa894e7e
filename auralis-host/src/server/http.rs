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
