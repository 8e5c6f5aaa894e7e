//! `auralis-host compose`: endless music as a Standard MIDI File.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use auralis_core::music::{Composer, Mode, MusicalContext, Phrase, PhraseBars, Preset};
use clap::Args;

use crate::midi;

/// Sample rate the composer counts event times in; the MIDI file is in
/// ticks, so any rate gives the same file.
const SAMPLE_RATE: u32 = 44_100;

/// The musical arguments `compose` and `render` share.
#[derive(Debug, Args)]
pub(crate) struct MusicArgs {
    /// Seed of the composition: the same seed and settings give the same
    /// music. Default: a fresh seed, printed so that you can repeat it.
    #[arg(long)]
    pub(crate) seed: Option<u64>,

    /// Minutes of music (up to 1440). Default: 10 for `compose` and
    /// `render`; `play` plays until it is stopped, and with this flag fades
    /// out over its last 10 seconds and exits.
    #[arg(long, value_parser = parse_minutes)]
    pub(crate) minutes: Option<f64>,

    /// Key: a MIDI root pitch 60–71 or a note name (C, D, Eb, F#, …).
    #[arg(long, default_value = "60", value_parser = parse_key)]
    key: u8,

    /// Mode: aeolian, dorian, lydian, phrygian, ionian or mixolydian.
    #[arg(long, default_value = "aeolian", value_parser = parse_mode, conflicts_with = "preset")]
    mode: Mode,

    /// Tempo in beats per minute, 40–90.
    #[arg(long, default_value_t = 60.0, value_parser = parse_bpm, conflicts_with = "preset")]
    bpm: f32,

    /// Note density and loudness, 0.0–1.0.
    #[arg(long, default_value_t = 0.5, value_parser = parse_intensity, conflicts_with = "preset")]
    intensity: f32,

    /// A mood instead of mode, tempo and intensity: focus (dorian, 60 BPM,
    /// 0.5), meditation (aeolian, 50, 0.3), sleep (phrygian, 40, 0.2) or
    /// bright (lydian, 70, 0.6). The key stays as given.
    #[arg(long, value_parser = parse_preset)]
    preset: Option<Preset>,
}

impl MusicArgs {
    /// The musical context the arguments describe.
    pub(crate) fn context(&self) -> Result<MusicalContext, String> {
        let base = MusicalContext::new(self.key, self.mode, self.bpm, self.intensity)
            .map_err(|e| e.to_string())?;
        Ok(match self.preset {
            Some(p) => base.with_preset(p),
            None => base,
        })
    }

    /// Minutes to compose or render: as given, or 10.
    pub(crate) fn minutes(&self) -> f64 {
        self.minutes.unwrap_or(10.0)
    }

    /// The seed given, or a fresh one.
    pub(crate) fn seed(&self) -> u64 {
        self.seed.unwrap_or_else(fresh_seed)
    }
}

/// Arguments of `compose`.
#[derive(Debug, Args)]
pub(crate) struct ComposeArgs {
    #[command(flatten)]
    music: MusicArgs,

    /// The MIDI file to write.
    #[arg(long, short, default_value = "ambient.mid")]
    out: PathBuf,

    /// Bars per phrase: 8 or 16.
    #[arg(long, default_value_t = 8, value_parser = parse_bars)]
    phrase_bars: u32,
}

/// Runs `compose`; the error is a sentence for the user.
pub(crate) fn run(args: &ComposeArgs) -> Result<(), String> {
    let context = args.music.context()?;
    let bars = PhraseBars::try_from(args.phrase_bars).map_err(|e| e.to_string())?;
    let seed = args.music.seed();
    let mut composer = Composer::new(seed, auralis_core::SampleRate::HZ_44100, context);
    let limit = (args.music.minutes() * 60.0 * f64::from(SAMPLE_RATE)).ceil() as u64;
    let mut phrases: Vec<Phrase> = Vec::new();
    while composer.position() < limit {
        phrases.push(composer.next_phrase(bars));
    }
    // Cut at the length asked for, as `render` does.
    let bytes = midi::write(&phrases, SAMPLE_RATE, composer.sounding_pad(), limit)
        .map_err(|e| format!("cannot encode MIDI: {e}"))?;
    write_whole(&args.out, &bytes)?;

    let secs = limit.min(composer.position()) / u64::from(SAMPLE_RATE);
    let stats = composer.stats();
    let notes: usize = phrases.iter().map(|p| p.melody.notes().len()).sum();
    eprintln!(
        "wrote {}: {}:{:02} of {} {} at {} BPM, intensity {} — {}, {}, {} (seed {seed})",
        args.out.display(),
        secs / 60,
        secs % 60,
        context.spelling().name(context.key_pc()),
        context.mode(),
        context.bpm(),
        context.intensity(),
        count(stats.phrases, "phrase", "phrases"),
        count(stats.chord_changes, "chord change", "chord changes"),
        count(notes as u64, "melody note", "melody notes"),
    );
    if stats.dropped_events > 0 {
        eprintln!(
            "warning: {} events did not fit a phrase's fixed capacity and were left out",
            stats.dropped_events
        );
    }
    if args.music.seed.is_none() {
        eprintln!("to compose this again, add --seed {seed}");
    }
    Ok(())
}

/// Writes `bytes` to `path` under a temporary name first, so that an error
/// leaves no partial file.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(format!(
                "{} is not a regular file (a directory, device or pipe): give a file name with --out",
                path.display()
            ));
        }
    }
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} has no file name: give one with --out", path.display()))?;
    let mut partial = name.to_os_string();
    partial.push(format!(".partial-{}", std::process::id()));
    let tmp = path.with_file_name(partial);
    if let Err(e) = std::fs::write(&tmp, bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Mix in the process id so two runs in the same nanosecond differ.
    (nanos ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000_000
}

fn parse_minutes(s: &str) -> Result<f64, String> {
    let m: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of minutes"))?;
    if m > 0.0 && m <= 1440.0 {
        Ok(m)
    } else {
        Err(format!(
            "{s} minutes is out of range: use more than 0 and at most 1440"
        ))
    }
}

pub(crate) fn parse_key(s: &str) -> Result<u8, String> {
    let key = match s.parse::<u8>() {
        Ok(k) => k,
        Err(_) => note_name(s).ok_or_else(|| {
            format!(
                "'{s}' is not a key: use a MIDI root pitch 60–71 or a note name such as D or Eb"
            )
        })?,
    };
    MusicalContext::DEFAULT
        .with_key(key)
        .map(|c| c.key())
        .map_err(|e| e.to_string())
}

/// The MIDI pitch (60–71) of a note name such as `D`, `eb` or `F#`.
fn note_name(s: &str) -> Option<u8> {
    let mut chars = s.trim().chars();
    let letter = chars.next()?.to_ascii_uppercase();
    let base: i8 = match letter {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let shift: i8 = match chars.as_str() {
        "" => 0,
        "#" | "♯" => 1,
        "b" | "♭" => -1,
        _ => return None,
    };
    Some(60 + (base + shift).rem_euclid(12) as u8)
}

pub(crate) fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
        .map_err(|e: auralis_core::music::ContextError| e.to_string())
}

pub(crate) fn parse_preset(s: &str) -> Result<Preset, String> {
    s.parse()
        .map_err(|e: auralis_core::music::ContextError| e.to_string())
}

pub(crate) fn parse_bpm(s: &str) -> Result<f32, String> {
    let bpm: f32 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a tempo: use a number from 40 to 90"))?;
    MusicalContext::DEFAULT
        .with_bpm(bpm)
        .map(|c| c.bpm())
        .map_err(|e| e.to_string())
}

pub(crate) fn parse_intensity(s: &str) -> Result<f32, String> {
    let i: f32 = s
        .parse()
        .map_err(|_| format!("'{s}' is not an intensity: use a number from 0.0 to 1.0"))?;
    MusicalContext::DEFAULT
        .with_intensity(i)
        .map(|c| c.intensity())
        .map_err(|e| e.to_string())
}

fn parse_bars(s: &str) -> Result<u32, String> {
    let b: u32 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of bars: use 8 or 16"))?;
    PhraseBars::try_from(b)
        .map(|b| u32::from(b.get()))
        .map_err(|e| e.to_string())
}

/// "1 phrase", "2 phrases".
fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names_and_numbers() {
        assert_eq!(parse_key("62"), Ok(62));
        assert_eq!(parse_key("D"), Ok(62));
        assert_eq!(parse_key("eb"), Ok(63));
        assert_eq!(parse_key("F#"), Ok(66));
        assert_eq!(parse_key("Cb"), Ok(71));
        assert!(parse_key("72").unwrap_err().contains("60 (C) to 71 (B)"));
        assert!(parse_key("H").unwrap_err().contains("note name"));
    }

    #[test]
    fn ranges() {
        assert!(parse_bpm("39").is_err());
        assert!(parse_bpm("nan").is_err());
        assert_eq!(parse_bpm("90"), Ok(90.0));
        assert!(parse_intensity("1.01").is_err());
        assert!(parse_minutes("0").is_err());
        assert!(parse_minutes("-3").is_err());
        assert!(parse_bars("12").unwrap_err().contains("8 or 16"));
        assert!(parse_mode("locrian").unwrap_err().contains("dorian"));
    }
}
