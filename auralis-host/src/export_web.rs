//! `auralis-host export-web DIR`: the web player as a static site that
//! composes in the listener's browser (the WebAssembly engine), for any
//! static host or CDN: no server needed after the files are served.

use std::path::{Path, PathBuf};

use auralis_host::server::assets;
use clap::Args;

/// Arguments of `export-web`.
#[derive(Debug, Args)]
pub(crate) struct ExportWebArgs {
    /// The folder to write the site into (created if missing; the files
    /// of the site are replaced, nothing else in it is touched). Serve it
    /// as a site's root.
    dir: PathBuf,
}

/// Writes the site; the error is a sentence for the user.
pub(crate) fn run(args: &ExportWebArgs) -> Result<(), String> {
    if !assets::has_engine() {
        return Err(
            "this auralis-host was built without the WebAssembly engine, and a static site has \
             nothing else to play: run `rustup target add wasm32-unknown-unknown`, build again, \
             and export again"
                .into(),
        );
    }
    let dir = &args.dir;
    let mut written = 0usize;
    let mut bytes = 0usize;
    let mut write = |path: &Path, data: &[u8]| -> Result<(), String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written += 1;
        bytes += data.len();
        Ok(())
    };
    for (name, asset) in assets::FILES {
        let at_root = assets::ROOT.iter().any(|(_, n)| *n == name);
        let path = if at_root {
            dir.join(name)
        } else {
            dir.join("client").join(name)
        };
        write(&path, asset.bytes)?;
        if let Some(gz) = asset.gzip {
            // For hosts that serve a precompressed copy (nginx's
            // gzip_static); CDNs compress on their own.
            let mut gz_path = path.clone().into_os_string();
            gz_path.push(".gz");
            write(Path::new(&gz_path), gz)?;
        }
    }
    write(&dir.join("favicon.ico"), assets::FAVICON)?;
    eprintln!(
        "wrote {written} files ({} KiB) to {}: serve that folder as a site's root, for example \
         `python3 -m http.server --directory {} 8080`, then open http://127.0.0.1:8080/ \
         (deploy/README.md says how to put it behind a CDN)",
        bytes / 1024,
        dir.display(),
        dir.display()
    );
    Ok(())
}
