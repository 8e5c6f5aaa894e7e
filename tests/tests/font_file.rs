//! SoundFonts from files: mapped where only root can change them, read
//! otherwise; the two give the same samples; files that are not regular
//! or too large are refused at once; and changing a file under a running
//! synthesizer cannot crash it.

/// Says that a test skips, and why, where `cargo test` shows it: straight
/// to the process's stderr, past the test harness's capture.
use auralis_tests::skip::skip;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use auralis_core::font_file::{FontFile, FontFileError, Loading, MAX_FONT_BYTES};
use auralis_core::synth::{SoundFontRenderer, Synth};
use auralis_core::SampleRate;

const FLUID: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
const TIM: &str = "/usr/share/sounds/sf2/TimGM6mb.sf2";

fn installed(path: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    skip(format_args!("{path} is not installed"));
    false
}

/// A few seconds of a busy scene on `font`.
fn play(font: &[u8]) -> Vec<f32> {
    let mut s: Box<Synth<'_, 64>> = Box::new(Synth::new(SampleRate::HZ_44100));
    s.load_soundfont(font).unwrap();
    for (ch, program) in [(0u8, 0u8), (1, 48), (2, 89), (3, 73)] {
        s.program_change(ch, program).unwrap();
        s.note_on(ch, 48 + 5 * ch, 100).unwrap();
    }
    s.note_on(9, 38, 110).unwrap();
    let (mut l, mut r) = (vec![0f32; 3 * 44_100], vec![0f32; 3 * 44_100]);
    s.render(&mut l, &mut r);
    l.extend_from_slice(&r);
    l
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auralis-font-file-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_packaged_font_is_mapped_and_sounds_as_read() {
    if !installed(FLUID) {
        return;
    }
    let t = Instant::now();
    let mapped = FontFile::open(FLUID).unwrap();
    let opened_in = t.elapsed();
    assert!(mapped.is_mapped(), "{FLUID} is root's: it should be mapped");
    let read = FontFile::open_with(FLUID, Loading::Copy, MAX_FONT_BYTES).unwrap();
    assert!(!read.is_mapped());
    assert_eq!(mapped.bytes().len(), read.bytes().len());
    let (a, b) = (play(mapped.bytes()), play(read.bytes()));
    assert!(a.iter().any(|v| *v != 0.0));
    assert!(
        a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
        "mapped and read fonts sound different"
    );
    eprintln!("opened a 148 MB font in {opened_in:?} (mapped)");
}

#[test]
fn what_is_not_a_regular_file_is_refused_at_once() {
    let t = Instant::now();
    for path in ["/dev/zero", "/dev/null", "/tmp"] {
        match FontFile::open(path) {
            Err(FontFileError::NotAFile(p)) => {
                assert_eq!(p, Path::new(path));
                let msg = FontFile::open(path).unwrap_err().to_string();
                assert!(msg.contains("not a regular file"), "{msg}");
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    let dir = temp_dir("fifo");
    let fifo = dir.join("font.sf2");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    assert!(matches!(
        FontFile::open(&fifo),
        Err(FontFileError::NotAFile(_))
    ));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "refusals should not read"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_font_over_the_limit_is_refused_with_its_size() {
    let dir = temp_dir("large");
    let path = dir.join("big.sf2");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&vec![0u8; 3 << 20]).unwrap();
    drop(f);
    match FontFile::open_with(&path, Loading::Auto, 1 << 20) {
        Err(e @ FontFileError::TooLarge { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("3 MiB") && msg.contains("1 MiB"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_font_others_may_change_is_read_and_survives_truncation() {
    if !installed(TIM) {
        return;
    }
    let dir = temp_dir("truncate");
    let path = dir.join("mine.sf2");
    std::fs::copy(TIM, &path).unwrap();
    // Writable by its group: not root's alone, so it must be read.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
    let file = FontFile::open(&path).unwrap();
    assert!(
        !file.is_mapped(),
        "a file others may write must not be mapped"
    );
    let before = play(file.bytes());
    // Cut the file to nothing and write garbage over it while the font is
    // in use: the synthesizer plays on, unchanged.
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"garbage")
        .unwrap();
    let after = play(file.bytes());
    assert!(before == after);
    let _ = std::fs::remove_dir_all(dir);
}
