//! Reading the small files a user names (MIDI files, configs) safely:
//! regular files only, and never more than a limit, so that
//! `--midi /dev/zero` or a config that is really a 10 GB log fails at
//! once with a sentence instead of eating the machine's memory.

use std::io::Read;
use std::path::Path;

/// The largest MIDI file read: 32 MiB (the largest General MIDI songs
/// are a few hundred kilobytes).
pub const MAX_MIDI_BYTES: u64 = 32 << 20;
/// The largest configuration file read: 1 MiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads `path`, a regular file of at most `limit` bytes; `what` names it
/// in the error ("MIDI file", "config").
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let file = open_regular(path, what)?;
    let mut bytes = Vec::new();
    // `take` stops a file that grows (or lies about its size) at the limit.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{what} {} is larger than {} MiB: that is not what a {what} is",
            path.display(),
            limit >> 20
        ));
    }
    Ok(bytes)
}

/// Opens `path` for reading if it is a regular file (without waiting on
/// a FIFO).
fn open_regular(path: &Path, what: &str) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot open {what} {}: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{what} {} is not a regular file: give the path of a file",
            path.display()
        ));
    }
    Ok(file)
}
