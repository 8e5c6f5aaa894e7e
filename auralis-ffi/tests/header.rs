//! `include/auralis.h` is what cbindgen makes of this crate now: a stale
//! header fails here. `AURALIS_BLESS=1` writes it instead.

use std::path::Path;

fn generate() -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .with_after_include(format!(
            "\n/** The library version as a string; `auralis_version()` returns the same. */\n#define AURALIS_VERSION \"{}\"",
            env!("CARGO_PKG_VERSION")
        ))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn the_committed_header_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/auralis.h");
    let fresh = generate();
    if std::env::var_os("AURALIS_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/auralis.h is stale: run AURALIS_BLESS=1 cargo test -p auralis-ffi --test header"
    );
}

#[test]
fn the_header_carries_the_crate_version() {
    let h = generate();
    let v = |name: &str| {
        h.lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} in the header"))
            .trim()
            .to_string()
    };
    assert_eq!(v("AURALIS_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(v("AURALIS_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(v("AURALIS_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(
        v("AURALIS_VERSION"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    assert!(h.starts_with("/* auralis.h") && h.contains("do not edit"));
}
