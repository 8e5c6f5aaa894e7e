//! `auralis-host render`: the generative stream (or, with `--midi`, a
//! Standard MIDI File) through the synthesizer into a WAV file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use auralis_core::engine::{to_pcm, Engine};
use auralis_core::font_file::FontFile;
use auralis_core::synth::{Interpolation, SoundFontRenderer, Synth};
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

/// Arguments of `render`.
#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// Render this Standard MIDI File (format 0 or 1) instead of the
    /// generative stream.
    #[arg(long, conflicts_with_all = ["seed", "minutes", "key", "mode", "bpm", "intensity", "preset"])]
    midi: Option<PathBuf>,

    #[command(flatten)]
    music: MusicArgs,

    /// The SoundFont to play with. Default: the built-in bank.
    #[arg(long)]
    soundfont: Option<PathBuf>,

    /// Sample interpolation.
    #[arg(long, value_enum, default_value_t = InterpolationArg::Cubic)]
    interpolation: InterpolationArg,

    /// Render without reverb and chorus.
    #[arg(long)]
    no_effects: bool,

    /// Add a soft low drone on the key's root (the generative stream only).
    #[arg(long, conflicts_with = "midi")]
    drone: bool,

    /// Output sample rate in Hz (the generative stream needs a multiple of
    /// 10 Hz up to 48000, for its 100 ms chunks).
    #[arg(long, default_value_t = 44_100, value_parser = clap::value_parser!(u32).range(8_000..=192_000))]
    sample_rate: u32,

    /// Write 32-bit float samples instead of 16-bit integers.
    #[arg(long)]
    float: bool,

    /// The WAV file to write.
    #[arg(long, short)]
    out: PathBuf,
}

impl RenderArgs {
    fn interpolation(&self) -> Interpolation {
        match self.interpolation {
            InterpolationArg::Linear => Interpolation::Linear,
            InterpolationArg::Cubic => Interpolation::Cubic,
        }
    }

    fn wav(&self) -> Result<Wav, String> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: self.sample_rate,
            bits_per_sample: if self.float { 32 } else { 16 },
            sample_format: if self.float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let writer = hound::WavWriter::create(&self.out, spec).map_err(|e| self.write_error(e))?;
        Ok(Wav {
            writer,
            float: self.float,
        })
    }

    fn write_error(&self, e: hound::Error) -> String {
        format!("cannot write {}: {e}", self.out.display())
    }
}

/// The WAV file being written.
struct Wav {
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    float: bool,
}

impl Wav {
    fn write(&mut self, l: &[f32], r: &[f32]) -> Result<(), hound::Error> {
        for (a, b) in l.iter().zip(r) {
            if self.float {
                self.writer.write_sample(*a)?;
                self.writer.write_sample(*b)?;
            } else {
                self.writer.write_sample(to_pcm(*a))?;
                self.writer.write_sample(to_pcm(*b))?;
            }
        }
        Ok(())
    }
}

/// Progress on stderr, when it is a terminal.
struct Progress {
    on: bool,
    last: u64,
}

impl Progress {
    fn new() -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            last: u64::MAX,
        }
    }

    fn show(&mut self, what: &Path, done: u64, total: u64, sr: u64) {
        let percent = (done.min(total) * 100).checked_div(total).unwrap_or(100);
        if self.on && percent != self.last {
            eprint!(
                "\rrendering {}: {percent:3}% ({} of {})",
                what.display(),
                clock(done / sr),
                clock(total / sr)
            );
            self.last = percent;
        }
    }

    fn finish(&self) {
        if self.on {
            eprintln!();
        }
    }
}

/// m:ss.
fn clock(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Runs `render`; the error is a sentence for the user.
pub(crate) fn run(args: &RenderArgs) -> Result<(), String> {
    let file;
    let font: &[u8] = match &args.soundfont {
        Some(path) => {
            file = FontFile::open(path).map_err(|e| e.to_string())?;
            file.bytes()
        }
        None => auralis_core::bank::DEFAULT_SF2,
    };
    let font_name = args
        .soundfont
        .as_ref()
        .map_or("the built-in bank".to_string(), |p| p.display().to_string());
    match &args.midi {
        Some(midi) => render_midi(args, midi, font, &font_name),
        None => render_stream(args, font, &font_name),
    }
}

/// The generative stream, exactly as the server plays it, for `--minutes`.
fn render_stream(args: &RenderArgs, font: &[u8], font_name: &str) -> Result<(), String> {
    let context = args.music.context()?;
    let seed = args.music.seed();
    let mut engine: Box<Engine<'_>> = Box::new(
        Engine::with_soundfont(seed, args.sample_rate, context, font)
            .map_err(|e| format!("cannot start the engine with {font_name}: {e}"))?,
    );
    engine.set_interpolation(args.interpolation());
    engine.set_effects(!args.no_effects);
    engine.set_drone(args.drone);
    let mut wav = args.wav()?;
    let sr = u64::from(args.sample_rate);
    let total = (args.music.minutes * 60.0 * sr as f64).ceil() as u64;
    let mut progress = Progress::new();
    let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
    let mut frame = 0u64;
    while frame < total {
        let n = (BLOCK as u64).min(total - frame) as usize;
        engine.render(&mut l[..n], &mut r[..n]);
        wav.write(&l[..n], &r[..n])
            .map_err(|e| args.write_error(e))?;
        frame += n as u64;
        progress.show(&args.out, frame, total, sr);
    }
    wav.writer.finalize().map_err(|e| args.write_error(e))?;
    progress.finish();
    eprintln!(
        "wrote {}: {} of {} {} at {} BPM, intensity {}{}, with {font_name} (seed {seed})",
        args.out.display(),
        clock(total / sr),
        context.spelling().name(context.key_pc()),
        context.mode(),
        context.bpm(),
        context.intensity(),
        if args.drone { ", a drone" } else { "" }
    );
    if args.music.seed.is_none() {
        eprintln!("to render this again, add --seed {seed}");
    }
    Ok(())
}

/// A MIDI file, keeping the tail after its last event.
fn render_midi(
    args: &RenderArgs,
    midi_path: &Path,
    font: &[u8],
    font_name: &str,
) -> Result<(), String> {
    let midi = std::fs::read(midi_path)
        .map_err(|e| format!("cannot read {}: {e}", midi_path.display()))?;
    let timeline = midi_file::read(&midi, args.sample_rate)
        .map_err(|e| format!("{}: {e}", midi_path.display()))?;
    let mut synth: Box<Synth<'_, 256>> =
        Box::new(Synth::new(args.sample_rate).map_err(|e| e.to_string())?);
    synth
        .load_soundfont(font)
        .map_err(|e| format!("{font_name} is not a usable SoundFont: {e}"))?;
    synth.set_interpolation(args.interpolation());
    if args.no_effects {
        synth.configure_reverb(0.0, 0.0, 0.0);
        synth.set_chorus(0.0);
    } else {
        synth.set_chorus(0.3);
    }
    let mut wav = args.wav()?;
    let sr = u64::from(args.sample_rate);
    let mut progress = Progress::new();
    let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
    let mut events = timeline.events.iter().peekable();
    let mut frame = 0u64;
    let mut silent_since: Option<u64> = None;
    loop {
        while let Some((_, ev)) = events.next_if(|(f, _)| *f <= frame) {
            // midly's types keep data bytes in range; a refused event
            // would be skipped, never fatal.
            let _ = synth.apply(*ev);
        }
        let next_event = events.peek().map_or(u64::MAX, |(f, _)| *f);
        if frame >= timeline.end {
            if synth.active_voices() == 0 {
                let since = *silent_since.get_or_insert(frame);
                if frame >= since + REVERB_TAIL_SECS * sr {
                    break;
                }
            }
            if frame >= timeline.end + MAX_TAIL_SECS * sr {
                break;
            }
        }
        let n = (BLOCK as u64).min(next_event.saturating_sub(frame)).max(1) as usize;
        synth.render(&mut l[..n], &mut r[..n]);
        wav.write(&l[..n], &r[..n])
            .map_err(|e| args.write_error(e))?;
        frame += n as u64;
        progress.show(midi_path, frame, timeline.end, sr);
    }
    wav.writer.finalize().map_err(|e| args.write_error(e))?;
    progress.finish();
    eprintln!(
        "wrote {}: {:.1} s at {} Hz from {} with {} ({} voices stolen)",
        args.out.display(),
        frame as f64 / sr as f64,
        args.sample_rate,
        midi_path.display(),
        font_name,
        synth.stats().voices_stolen
    );
    Ok(())
}
