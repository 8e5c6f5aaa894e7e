//! The web player's files, compiled into the binary. Only names in this
//! table are served, so no request can reach the file system.

/// One served file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its bytes.
    pub bytes: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file under `/client/`.
pub const FILES: [(&str, Asset); 5] = [
    (
        "index.html",
        Asset {
            bytes: include_bytes!("../../client/index.html"),
            content_type: HTML,
        },
    ),
    (
        "app.js",
        Asset {
            bytes: include_bytes!("../../client/app.js"),
            content_type: JS,
        },
    ),
    (
        "jitter.js",
        Asset {
            bytes: include_bytes!("../../client/jitter.js"),
            content_type: JS,
        },
    ),
    (
        "worklet.js",
        Asset {
            bytes: include_bytes!("../../client/worklet.js"),
            content_type: JS,
        },
    ),
    (
        "style.css",
        Asset {
            bytes: include_bytes!("../../client/style.css"),
            content_type: CSS,
        },
    ),
];

/// The file for a request path: `/` is the page, `/client/<name>` its
/// assets; anything else is `None` (404).
pub fn lookup(path: &str) -> Option<Asset> {
    let name = match path {
        "/" | "/index.html" => "index.html",
        _ => path.strip_prefix("/client/")?,
    };
    FILES.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// The site icon: a quiet wave on a dark disc, as SVG.
pub const FAVICON: &[u8] = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><circle cx="32" cy="32" r="30" fill="#14161c"/><path d="M10 34c6-10 10-10 16 0s10 10 16 0 10-10 12-4" fill="none" stroke="#8fb3d9" stroke-width="4" stroke-linecap="round"/></svg>"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_files_are_served() {
        assert_eq!(lookup("/").unwrap().content_type, HTML);
        assert_eq!(lookup("/client/app.js").unwrap().content_type, JS);
        for bad in [
            "/client/",
            "/client/../Cargo.toml",
            "/client/%2e%2e/x",
            "/Cargo.toml",
            "/client/nope.js",
        ] {
            assert!(lookup(bad).is_none(), "{bad}");
        }
    }
}
