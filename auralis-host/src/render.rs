//! `auralis-host render`: the generative stream (or, with `--midi`, a
//! Standard MIDI File) through the synthesizer into a WAV file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use auralis_core::engine::{to_pcm, Engine};
use auralis_core::font_file::FontFile;
use auralis_core::synth::{Interpolation, SoundFontRenderer, Synth};
use auralis_core::SampleRate;
use auralis_host::midi_file;
use clap::{Args, ValueEnum};

use crate::compose::MusicArgs;

/// Frames rendered per step.
const BLOCK: usize = 4096;
/// Longest tail after the last event, waiting for voices and reverb to fade.
const MAX_TAIL_SECS: u64 = 30;
/// Tail kept after the last voice ends, for the reverb.
const REVERB_TAIL_SECS: u64 = 2;

/// How samples are interpolated.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum InterpolationArg {
    /// 2-point linear.
    Linear,
    /// 4-point cubic.
    Cubic,
}

/// How the music sounds: the arguments `render` and `play` share.
#[derive(Debug, Args)]
pub(crate) struct SoundArgs {
    /// The SoundFont to play with. Default: the built-in bank.
    #[arg(long)]
    soundfont: Option<PathBuf>,

    /// Sample interpolation.
    #[arg(long, value_enum, default_value_t = InterpolationArg::Cubic)]
    interpolation: InterpolationArg,

    /// Without reverb and chorus.
    #[arg(long)]
    no_effects: bool,
}

impl SoundArgs {
    fn interpolation(&self) -> Interpolation {
        match self.interpolation {
            InterpolationArg::Linear => Interpolation::Linear,
            InterpolationArg::Cubic => Interpolation::Cubic,
        }
    }

    /// The SoundFont asked for (mapped, not read), or the built-in bank.
    pub(crate) fn font(&self) -> Result<Font, String> {
        Ok(match &self.soundfont {
            Some(path) => Font::File(
                FontFile::open(path).map_err(|e| e.to_string())?,
                path.display().to_string(),
            ),
            None => Font::BuiltIn,
        })
    }

    /// The generative stream's engine, set up as these arguments say.
    pub(crate) fn engine<'f>(
        &self,
        font: &'f Font,
        seed: u64,
        rate: SampleRate,
        context: auralis_core::music::MusicalContext,
        drone: bool,
    ) -> Result<Box<Engine<'f>>, String> {
        let mut engine = Box::new(
            Engine::with_soundfont(seed, rate, context, font.bytes())
                .map_err(|e| format!("cannot start the engine with {}: {e}", font.name()))?,
        );
        engine.set_interpolation(self.interpolation());
        engine.set_effects(!self.no_effects);
        engine.set_drone(drone);
        Ok(engine)
    }
}

/// A SoundFont: a file from `--soundfont` or the built-in bank.
pub(crate) enum Font {
    /// A file, and its name for messages.
    File(FontFile, String),
    /// The bank built into the program.
    BuiltIn,
}

impl Font {
    /// Its bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Font::File(file, _) => file.bytes(),
            Font::BuiltIn => auralis_core::bank::DEFAULT_SF2,
        }
    }

    /// How messages name it.
    pub(crate) fn name(&self) -> &str {
        match self {
            Font::File(_, name) => name,
            Font::BuiltIn => "the built-in bank",
        }
    }
}

/// Arguments of `render`.
#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// Render this Standard MIDI File (format 0 or 1) instead of the
    /// generative stream.
    #[arg(long, conflicts_with_all = ["seed", "minutes", "key", "mode", "bpm", "intensity", "preset"])]
    midi: Option<PathBuf>,

    #[command(flatten)]
    music: MusicArgs,

    #[command(flatten)]
    sound: SoundArgs,

    /// Add a soft low drone on the key's root (the generative stream only).
    #[arg(long, conflicts_with = "midi")]
    drone: bool,

    /// Output sample rate in Hz (the generative stream needs a multiple of
    /// 10 Hz up to 48000, for its 100 ms chunks).
    #[arg(long, default_value = "44100", value_parser = parse_rate)]
    sample_rate: SampleRate,

    /// Write 32-bit float samples instead of 16-bit integers.
    #[arg(long)]
    float: bool,

    /// Master gain, 0–8. Default: 0.5 for --midi (the General MIDI level
    /// FluidSynth's `-g 0.5` plays at); 5.4 for the generative stream,
    /// which is mastered to about −18 LUFS. So a file from `compose`
    /// played back with --midi is about 20 dB quieter than `render` of
    /// the same music, unless given `--gain 5.4`.
    #[arg(long, value_parser = parse_gain)]
    gain: Option<f32>,

    /// Refuse a MIDI file that plays for longer than this many minutes
    /// (its last note, not its end-of-track marker, counts).
    #[arg(long, default_value_t = 1440.0, value_parser = parse_positive_minutes)]
    max_minutes: f64,

    /// With --midi: keep at most this many seconds of silence between the
    /// file's last note and its end-of-track (the rest is cut, with a
    /// warning), so that a file ending days after its music is not
    /// rendered for days
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS", value_parser = parse_seconds)]
    max_silence: f64,

    /// The WAV file to write (written under a temporary name and renamed
    /// when complete: an error leaves no partial file).
    #[arg(long, short)]
    out: PathBuf,
}

fn parse_rate(s: &str) -> Result<SampleRate, String> {
    s.parse::<SampleRate>().map_err(|e| format!("'{s}': {e}"))
}

fn parse_gain(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(g) if (0.0..=8.0).contains(&g) => Ok(g),
        _ => Err(format!("'{s}' is not a gain: use a number from 0 to 8")),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=86_400.0).contains(&x) => Ok(x),
        _ => Err(format!("'{s}' is not a number of seconds from 0 to 86400")),
    }
}

fn parse_positive_minutes(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(m) if m > 0.0 && m.is_finite() => Ok(m),
        _ => Err(format!("'{s}' is not a number of minutes above 0")),
    }
}

/// The largest WAV file: its sizes are 32-bit (RF64 is not written).
const MAX_WAV_BYTES: u64 = u32::MAX as u64;
/// Bytes of the canonical WAV header hound writes (float adds a `fact`
/// chunk; counted generously).
const WAV_HEADER_BYTES: u64 = 80;

impl RenderArgs {
    /// Bytes per stereo frame in the WAV file.
    fn frame_bytes(&self) -> u64 {
        if self.float {
            8
        } else {
            4
        }
    }

    /// Refuses, before any work, a render of `frames` frames that a WAV
    /// file cannot hold, saying what would fit.
    fn check_size(&self, frames: u64) -> Result<(), String> {
        let bytes = frames
            .saturating_mul(self.frame_bytes())
            .saturating_add(WAV_HEADER_BYTES);
        if bytes <= MAX_WAV_BYTES {
            return Ok(());
        }
        let fits = (MAX_WAV_BYTES - WAV_HEADER_BYTES)
            / self.frame_bytes()
            / u64::from(self.sample_rate.hz())
            / 60;
        Err(format!(
            "{} minutes of {}-bit stereo at {} Hz is {:.1} GiB, more than a WAV file can hold (4 GiB): \
             at most {fits} minutes fit{}",
            frames / u64::from(self.sample_rate.hz()) / 60,
            self.frame_bytes() * 4,
            self.sample_rate.hz(),
            bytes as f64 / f64::from(1u32 << 30),
            if self.float { " (16-bit samples, without --float, fit twice as many)" } else { "" }
        ))
    }

    /// Opens the output: a temporary file beside `--out`, renamed to it by
    /// [`Wav::finish`]. Refuses destinations that cannot be a WAV file.
    fn wav(&self) -> Result<Wav, String> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: self.sample_rate.hz(),
            bits_per_sample: if self.float { 32 } else { 16 },
            sample_format: if self.float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        if self.out.as_os_str() == "-" {
            return Err(
                "cannot write a WAV file to standard output (its header is written last): give a file name with --out"
                    .into(),
            );
        }
        if let Ok(meta) = std::fs::metadata(&self.out) {
            if !meta.is_file() {
                return Err(format!(
                    "{} is not a regular file (a directory, device or pipe): give a file name with --out",
                    self.out.display()
                ));
            }
        }
        let name = self.out.file_name().ok_or_else(|| {
            format!(
                "{} has no file name: give one with --out",
                self.out.display()
            )
        })?;
        let mut partial = name.to_os_string();
        partial.push(format!(".partial-{}", std::process::id()));
        let tmp = self.out.with_file_name(partial);
        let writer = hound::WavWriter::create(&tmp, spec)
            .map_err(|e| format!("cannot write {}: {e}", self.out.display()))?;
        Ok(Wav {
            writer: Some(writer),
            float: self.float,
            tmp,
            out: self.out.clone(),
        })
    }

    fn write_error(&self, e: hound::Error) -> String {
        format!("cannot write {}: {e}", self.out.display())
    }
}

/// `Err` (the partial file is then removed) once a signal came.
fn check_interrupted(out: &std::path::Path) -> Result<(), String> {
    if crate::signals::interrupted() {
        return Err(format!(
            "interrupted: {} was not written (nothing is left behind)",
            out.display()
        ));
    }
    Ok(())
}

/// The WAV file being written, under a temporary name until it is done.
struct Wav {
    writer: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
    float: bool,
    tmp: PathBuf,
    out: PathBuf,
}

impl Wav {
    fn write(&mut self, l: &[f32], r: &[f32]) -> Result<(), hound::Error> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        for (a, b) in l.iter().zip(r) {
            if self.float {
                writer.write_sample(*a)?;
                writer.write_sample(*b)?;
            } else {
                writer.write_sample(to_pcm(*a))?;
                writer.write_sample(to_pcm(*b))?;
            }
        }
        Ok(())
    }

    /// Completes the file and gives it its name.
    fn finish(mut self) -> Result<(), String> {
        if let Some(writer) = self.writer.take() {
            writer
                .finalize()
                .map_err(|e| format!("cannot write {}: {e}", self.out.display()))?;
        }
        std::fs::rename(&self.tmp, &self.out)
            .map_err(|e| format!("cannot write {}: {e}", self.out.display()))
    }
}

impl Drop for Wav {
    /// An unfinished file is removed: an error leaves nothing behind.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Progress on stderr with an estimate of the time left, once a second
/// (on a terminal the line is redrawn in place).
struct Progress {
    tty: bool,
    started: std::time::Instant,
    last: Option<std::time::Instant>,
}

impl Progress {
    fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            started: std::time::Instant::now(),
            last: None,
        }
    }

    fn show(&mut self, what: &Path, done: u64, total: u64, sr: u64) {
        let now = std::time::Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t).as_secs_f64() < 1.0)
        {
            return;
        }
        self.last = Some(now);
        let percent = (done.min(total) * 100).checked_div(total).unwrap_or(100);
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let left = if done > 0 {
            elapsed * total.saturating_sub(done) as f64 / done as f64
        } else {
            0.0
        };
        let line = format!(
            "rendering {}: {percent:3}% ({} of {}), about {} left",
            what.display(),
            clock(done / sr),
            clock(total / sr),
            clock(left.ceil() as u64)
        );
        if self.tty {
            eprint!("\r{line}");
        } else if elapsed >= 1.0 {
            eprintln!("{line}");
        }
    }

    fn finish(&self) {
        if self.tty && self.last.is_some() {
            eprintln!();
        }
    }
}

/// m:ss.
pub(crate) fn clock(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Runs `render`; the error is a sentence for the user.
pub(crate) fn run(args: &RenderArgs) -> Result<(), String> {
    // SIGINT and SIGTERM stop the render between two blocks, so that the
    // unfinished file is removed (killed outright, the process left
    // hundreds of MB of `.partial-PID` behind).
    crate::signals::catch();
    let font = args.sound.font()?;
    match &args.midi {
        Some(midi) => render_midi(args, midi, &font),
        None => render_stream(args, &font),
    }
}

/// The generative stream, exactly as the server plays it, for `--minutes`.
fn render_stream(args: &RenderArgs, font: &Font) -> Result<(), String> {
    let context = args.music.context()?;
    let seed = args.music.seed();
    let mut engine = args
        .sound
        .engine(font, seed, args.sample_rate, context, args.drone)?;
    if let Some(g) = args.gain {
        engine.set_gain(g);
    }
    let sr = u64::from(args.sample_rate.hz());
    let total = (args.music.minutes() * 60.0 * sr as f64).ceil() as u64;
    args.check_size(total)?;
    let mut wav = args.wav()?;
    let mut progress = Progress::new();
    let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
    let mut frame = 0u64;
    while frame < total {
        check_interrupted(&args.out)?;
        let n = (BLOCK as u64).min(total - frame) as usize;
        engine.render(&mut l[..n], &mut r[..n]);
        wav.write(&l[..n], &r[..n])
            .map_err(|e| args.write_error(e))?;
        frame += n as u64;
        progress.show(&args.out, frame, total, sr);
    }
    wav.finish()?;
    progress.finish();
    eprintln!(
        "wrote {}: {} of {} {} at {} BPM, intensity {}{}, with {} (seed {seed})",
        args.out.display(),
        clock(total / sr),
        context.spelling().name(context.key_pc()),
        context.mode(),
        context.bpm(),
        context.intensity(),
        if args.drone { ", a drone" } else { "" },
        font.name()
    );
    if args.music.seed.is_none() {
        eprintln!("to render this again, add --seed {seed}");
    }
    Ok(())
}

/// A MIDI file, keeping the tail after its last event.
fn render_midi(args: &RenderArgs, midi_path: &Path, font: &Font) -> Result<(), String> {
    let font_name = font.name();
    let midi = auralis_host::files::read_limited(
        midi_path,
        auralis_host::files::MAX_MIDI_BYTES,
        "MIDI file",
    )?;
    let timeline = midi_file::read(&midi, args.sample_rate.hz())
        .map_err(|e| format!("{}: {e}", midi_path.display()))?;
    let sr = u64::from(args.sample_rate.hz());
    let minutes = timeline.end as f64 / sr as f64 / 60.0;
    if minutes > args.max_minutes {
        return Err(format!(
            "{} plays for {minutes:.0} minute{}, more than --max-minutes {}: raise --max-minutes to render all of it",
            midi_path.display(),
            if format!("{minutes:.0}") == "1" { "" } else { "s" },
            args.max_minutes
        ));
    }
    // The file lasts to its end-of-track, rests included (as players and
    // FluidSynth play it), but at most --max-silence after its last note.
    let silence = (args.max_silence * sr as f64) as u64;
    let file_end = timeline.last_meta.max(timeline.end);
    let end = file_end.min(timeline.end.saturating_add(silence));
    if end < file_end {
        eprintln!(
            "{}: its end-of-track comes {} after its last note: rendering {} s of that silence \
             (--max-silence to keep more)",
            midi_path.display(),
            clock((file_end - timeline.end) / sr),
            args.max_silence
        );
    }
    // Saturating: a file whose end is near u64::MAX frames must be
    // refused here, not wrap round to a small size.
    args.check_size(end.saturating_add(MAX_TAIL_SECS * sr))?;
    let mut synth: Box<Synth<'_, 256>> = Box::new(Synth::new(args.sample_rate));
    synth
        .load_soundfont(font.bytes())
        .map_err(|e| format!("{font_name} is not a usable SoundFont: {e}"))?;
    synth.set_interpolation(args.sound.interpolation());
    if args.sound.no_effects {
        synth.configure_reverb(0.0, 0.0, 0.0);
        synth.set_chorus(0.0);
    } else {
        synth.set_chorus(0.3);
    }
    if let Some(g) = args.gain {
        synth.set_gain(g);
    }
    let mut wav = args.wav()?;
    let mut progress = Progress::new();
    let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
    let mut events = timeline.events.iter().peekable();
    let mut frame = 0u64;
    let mut silent_since: Option<u64> = None;
    loop {
        check_interrupted(&args.out)?;
        while let Some((_, ev)) = events.next_if(|(f, _)| *f <= frame) {
            // midly's types keep data bytes in range; a refused event
            // would be skipped, never fatal.
            let _ = synth.apply(*ev);
        }
        let next_event = events.peek().map_or(u64::MAX, |(f, _)| *f);
        if frame >= end {
            if synth.active_voices() == 0 {
                let since = *silent_since.get_or_insert(frame);
                if frame >= since.saturating_add(REVERB_TAIL_SECS * sr) {
                    break;
                }
            }
            if frame >= end.saturating_add(MAX_TAIL_SECS * sr) {
                break;
            }
        }
        let n = (BLOCK as u64).min(next_event.saturating_sub(frame)).max(1) as usize;
        synth.render(&mut l[..n], &mut r[..n]);
        wav.write(&l[..n], &r[..n])
            .map_err(|e| args.write_error(e))?;
        frame += n as u64;
        progress.show(midi_path, frame, end, sr);
    }
    wav.finish()?;
    progress.finish();
    let subs = synth.substitutions();
    for p in subs.missing_programs() {
        eprintln!("warning: {font_name} has no program {p}: it played as program 0");
    }
    if subs.drums {
        eprintln!("warning: {font_name} has no drum kit (bank 128): percussion was silent");
    }
    eprintln!(
        "wrote {}: {:.1} s at {} Hz from {} with {} ({} voices stolen)",
        args.out.display(),
        frame as f64 / sr as f64,
        args.sample_rate.hz(),
        midi_path.display(),
        font_name,
        synth.stats().voices_stolen
    );
    Ok(())
}
