//! Writes the built-in SoundFont into the build (see `build/bank.rs`).

#[path = "build/bank.rs"]
mod bank;
#[path = "build/gm.rs"]
mod gm;
#[path = "build/sf2_writer.rs"]
mod sf2_writer;

fn main() {
    println!("cargo:rerun-if-changed=build/bank.rs");
    println!("cargo:rerun-if-changed=build/gm.rs");
    println!("cargo:rerun-if-changed=build/sf2_writer.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = std::path::Path::new(&out);
    // The full General MIDI bank, and the ambient presets alone (what the
    // `compact` feature builds in, for parts with little flash).
    std::fs::write(out.join("default.sf2"), bank::build(true)).expect("write the built-in bank");
    std::fs::write(out.join("ambient.sf2"), bank::build(false)).expect("write the ambient bank");
    // Unoptimised builds do not force the voice and effect kernels inline:
    // at opt-level 0 nothing shares stack slots, and one function holding
    // every kernel needs hundreds of KiB of stack (see `synth/mixer.rs`).
    println!("cargo::rustc-check-cfg=cfg(auralis_unoptimised)");
    if std::env::var("OPT_LEVEL").as_deref() == Ok("0") {
        println!("cargo:rustc-cfg=auralis_unoptimised");
    }
}
