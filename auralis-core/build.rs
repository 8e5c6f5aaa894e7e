//! Writes the built-in SoundFont into the build (see `build/bank.rs`).

#[path = "build/bank.rs"]
mod bank;

fn main() {
    println!("cargo:rerun-if-changed=build/bank.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let path = std::path::Path::new(&out).join("default.sf2");
    std::fs::write(&path, bank::build()).expect("write the built-in bank");
}
