//! The web player's files, compiled into the binary. Only names in this
//! table are served, so no request can reach the file system.

/// One served file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its bytes.
    pub bytes: &'static [u8],
    /// The same bytes gzipped, for clients that accept it (the engine).
    pub gzip: Option<&'static [u8]>,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const MANIFEST: &str = "application/manifest+json";
const WASM: &str = "application/wasm";

/// The engine in WebAssembly (`auralis-wasm`), built by `build.rs`; empty
/// when the build had no `wasm32-unknown-unknown` target (then it is not
/// served, and the page streams from the server).
const ENGINE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/auralis.wasm"));
const ENGINE_WASM_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/auralis.wasm.gz"));

/// The files served at the site's root (by path), by their names in
/// [`FILES`]: the page, its service worker (whose scope is the folder it
/// is served from, so it must be the root) and its web manifest.
pub const ROOT: [(&str, &str); 4] = [
    ("/", "index.html"),
    ("/index.html", "index.html"),
    ("/sw.js", "sw.js"),
    ("/manifest.webmanifest", "manifest.webmanifest"),
];

/// Every file of the page: the ones in [`ROOT`] and the ones under
/// `/client/`.
pub const FILES: [(&str, Asset); 9] = [
    (
        "index.html",
        Asset {
            bytes: include_bytes!("../../client/index.html"),
            gzip: None,
            content_type: HTML,
        },
    ),
    (
        "app.js",
        Asset {
            bytes: include_bytes!("../../client/app.js"),
            gzip: None,
            content_type: JS,
        },
    ),
    (
        "jitter.js",
        Asset {
            bytes: include_bytes!("../../client/jitter.js"),
            gzip: None,
            content_type: JS,
        },
    ),
    (
        "worklet.js",
        Asset {
            bytes: include_bytes!("../../client/worklet.js"),
            gzip: None,
            content_type: JS,
        },
    ),
    (
        "style.css",
        Asset {
            bytes: include_bytes!("../../client/style.css"),
            gzip: None,
            content_type: CSS,
        },
    ),
    (
        "sw.js",
        Asset {
            bytes: include_bytes!("../../client/sw.js"),
            gzip: None,
            content_type: JS,
        },
    ),
    (
        "manifest.webmanifest",
        Asset {
            bytes: include_bytes!("../../client/manifest.webmanifest"),
            gzip: None,
            content_type: MANIFEST,
        },
    ),
    (
        "engine-worklet.js",
        Asset {
            bytes: include_bytes!("../../client/engine-worklet.js"),
            gzip: None,
            content_type: JS,
        },
    ),
    (
        "auralis.wasm",
        Asset {
            bytes: ENGINE_WASM,
            gzip: Some(ENGINE_WASM_GZ),
            content_type: WASM,
        },
    ),
];

/// The file for a request path: the [`ROOT`] files and `/client/<name>`;
/// anything else is `None` (404).
pub fn lookup(path: &str) -> Option<Asset> {
    let name = match ROOT.iter().find(|(p, _)| *p == path) {
        Some((_, name)) => name,
        None => path.strip_prefix("/client/")?,
    };
    FILES
        .iter()
        .find(|(n, a)| *n == name && !a.bytes.is_empty())
        .map(|(_, a)| *a)
}

/// Whether this server carries the engine for the page to run itself.
pub fn has_engine() -> bool {
    !ENGINE_WASM.is_empty()
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
        assert_eq!(lookup("/sw.js").unwrap().content_type, JS);
        assert_eq!(
            lookup("/manifest.webmanifest").unwrap().content_type,
            MANIFEST
        );
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

    #[test]
    fn the_engine_is_served_with_its_gzip_only_when_built_in() {
        match lookup("/client/auralis.wasm") {
            Some(a) => {
                assert!(has_engine());
                assert_eq!(a.content_type, WASM);
                assert_eq!(&a.bytes[..4], b"\0asm");
                let gz = a.gzip.unwrap();
                assert_eq!(&gz[..2], &[0x1f, 0x8b]);
                assert!(gz.len() < a.bytes.len());
            }
            None => assert!(!has_engine()),
        }
    }
}
