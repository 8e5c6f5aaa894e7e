//! Writes `auralis.pc` (pkg-config) next to the built libraries, for
//! installs: `prefix` is `/usr/local` unless `AURALIS_PREFIX` says
//! otherwise (and pkg-config's `--define-variable=prefix=…` can move it).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=AURALIS_PREFIX");
    println!("cargo:rerun-if-changed=build.rs");
    let prefix = std::env::var("AURALIS_PREFIX").unwrap_or_else(|_| "/usr/local".into());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let pc = format!(
        "prefix={prefix}\n\
         exec_prefix=${{prefix}}\n\
         libdir=${{exec_prefix}}/lib\n\
         includedir=${{prefix}}/include\n\
         \n\
         Name: auralis\n\
         Description: Auralis: generative ambient music that never repeats (C API)\n\
         Version: {version}\n\
         Cflags: -I${{includedir}}\n\
         Libs: -L${{libdir}} -lauralis\n\
         Libs.private: -lpthread -ldl -lm\n"
    );
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out: the .pc goes
    // to <target>/<profile>, beside libauralis.a and libauralis.so.
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    if let Some(profile_dir) = out.ancestors().nth(3) {
        let _ = std::fs::write(profile_dir.join("auralis.pc"), pc);
    }
}
