//! SoundFonts from files, for hosts with an operating system (the `std`
//! feature): mapped into memory where that is safe, so that only the
//! samples a piece plays become resident and every stream shares one
//! copy; read into memory otherwise.
//!
//! A mapping is only as safe as the file under it: if another program
//! truncates a mapped file, the next read of a page past the new end
//! kills the process (SIGBUS). So a file is mapped only when nobody but
//! the administrator can change it — a regular file owned by root that
//! neither its group nor others may write, as Debian installs
//! `/usr/share/sounds/sf2/*` — and package upgrades replace such files by
//! renaming a new one into place, which leaves an open mapping intact.
//! Every other file is read into memory, where nothing done to the file
//! later can reach it. [`FontFile::open_with`] can force a read.
//!
//! Only regular files are accepted (not `/dev/zero`, a FIFO or a
//! directory), and at most [`MAX_FONT_BYTES`] unless told otherwise.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest SoundFont accepted by default: 2 GiB (the largest GM
/// fonts in use are about 1.5 GB; the RIFF format stops at 4 GiB).
pub const MAX_FONT_BYTES: u64 = 2 << 30;

/// How to bring a font file into memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Loading {
    /// Map it when nobody but root can change it, else read it (the
    /// default; see the module documentation).
    #[default]
    Auto,
    /// Always read it into memory.
    Copy,
    // No `Map` that forces a mapping: whether a mapping is sound depends
    // on nobody truncating the file, which a safe function cannot
    // promise; `Auto` maps only what only root can change.
}

/// A SoundFont file's bytes, mapped or read.
pub struct FontFile {
    bytes: Bytes,
    path: PathBuf,
}

enum Bytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

/// Why a font file could not be opened.
#[derive(Debug)]
pub enum FontFileError {
    /// The file could not be opened, inspected, read or mapped.
    Io(PathBuf, std::io::Error),
    /// Not a regular file (a device, a pipe, a directory …).
    NotAFile(PathBuf),
    /// Larger than the limit.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
}

impl fmt::Display for FontFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FontFileError::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            FontFileError::NotAFile(p) => write!(
                f,
                "{} is not a regular file: give the path of a .sf2 file",
                p.display()
            ),
            FontFileError::TooLarge { path, size, limit } => write!(
                f,
                "{} is {} MiB, more than the {} MiB a SoundFont may be",
                path.display(),
                size >> 20,
                limit >> 20
            ),
        }
    }
}

impl std::error::Error for FontFileError {}

impl FontFile {
    /// Opens `path` the default way ([`Loading::Auto`], at most
    /// [`MAX_FONT_BYTES`]).
    pub fn open(path: impl AsRef<Path>) -> Result<FontFile, FontFileError> {
        FontFile::open_with(path, Loading::Auto, MAX_FONT_BYTES)
    }

    /// Opens `path`, mapping or reading it as `loading` says, refusing
    /// files over `limit` bytes.
    pub fn open_with(
        path: impl AsRef<Path>,
        loading: Loading,
        limit: u64,
    ) -> Result<FontFile, FontFileError> {
        let path = path.as_ref().to_path_buf();
        let io = |e| FontFileError::Io(path.clone(), e);
        // Non-blocking, so that opening a FIFO returns at once (and is
        // then refused) instead of waiting for a writer.
        let file = open_nonblocking(&path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(FontFileError::NotAFile(path));
        }
        if meta.len() > limit {
            return Err(FontFileError::TooLarge {
                path,
                size: meta.len(),
                limit,
            });
        }
        let map = match loading {
            Loading::Copy => false,
            Loading::Auto => only_root_can_change(&meta),
        };
        // An empty file cannot be mapped; it is read (and then refused by
        // the parser with a clear message).
        let bytes = if map && meta.len() > 0 {
            #[allow(unsafe_code)]
            // SAFETY: the mapping is read-only and lives in `FontFile`, and
            // every view of it borrows the `FontFile`. What the type system
            // cannot see is the file itself: it is mapped only when only
            // root may write it (see the module documentation).
            let m = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
            Bytes::Mapped(m)
        } else {
            let mut bytes = Vec::with_capacity(meta.len() as usize);
            // A file that grows while it is read stops at the limit.
            file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
            if bytes.len() as u64 > limit {
                return Err(FontFileError::TooLarge {
                    path,
                    size: bytes.len() as u64,
                    limit,
                });
            }
            Bytes::Read(bytes)
        };
        Ok(FontFile { bytes, path })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }

    /// Whether the bytes are mapped (else they were read).
    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped(_))
    }

    /// The path it came from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for FontFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FontFile")
            .field("path", &self.path)
            .field("len", &self.bytes().len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// A regular file owned by root that its group and others cannot write.
#[cfg(unix)]
fn only_root_can_change(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.uid() == 0 && meta.mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn only_root_can_change(_meta: &std::fs::Metadata) -> bool {
    false
}
