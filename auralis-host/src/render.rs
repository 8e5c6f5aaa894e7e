//! `auralis-host render --midi`: a Standard MIDI File through the
//! synthesizer into a WAV file, reverb tail included.

use std::io::IsTerminal;
use std::path::PathBuf;

use auralis_core::synth::{Interpolation, SoundFontRenderer, Synth};
use auralis_host::midi_file;
use clap::{Args, ValueEnum};

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
    /// The Standard MIDI File to render (format 0 or 1).
    #[arg(long)]
    midi: PathBuf,

    /// The SoundFont to play it with. Default: the built-in bank.
    #[arg(long)]
    soundfont: Option<PathBuf>,

    /// Sample interpolation.
    #[arg(long, value_enum, default_value_t = InterpolationArg::Cubic)]
    interpolation: InterpolationArg,

    /// Render without reverb and chorus.
    #[arg(long)]
    no_effects: bool,

    /// Output sample rate in Hz.
    #[arg(long, default_value_t = 44_100, value_parser = clap::value_parser!(u32).range(8_000..=192_000))]
    sample_rate: u32,

    /// Write 32-bit float samples instead of 16-bit integers.
    #[arg(long)]
    float: bool,

    /// The WAV file to write.
    #[arg(long, short)]
    out: PathBuf,
}

/// Runs `render --midi`; the error is a sentence for the user.
pub(crate) fn run(args: &RenderArgs) -> Result<(), String> {
    let midi = std::fs::read(&args.midi)
        .map_err(|e| format!("cannot read {}: {e}", args.midi.display()))?;
    let timeline = midi_file::read(&midi, args.sample_rate)
        .map_err(|e| format!("{}: {e}", args.midi.display()))?;
    let font_bytes = match &args.soundfont {
        Some(path) => {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
        }
        None => auralis_core::bank::DEFAULT_SF2.to_vec(),
    };
    let font_name = args
        .soundfont
        .as_ref()
        .map_or("the built-in bank".to_string(), |p| p.display().to_string());
    let mut synth: Box<Synth<'_, 256>> =
        Box::new(Synth::new(args.sample_rate).map_err(|e| e.to_string())?);
    synth
        .load_soundfont(&font_bytes)
        .map_err(|e| format!("{font_name} is not a usable SoundFont: {e}"))?;
    synth.set_interpolation(match args.interpolation {
        InterpolationArg::Linear => Interpolation::Linear,
        InterpolationArg::Cubic => Interpolation::Cubic,
    });
    if args.no_effects {
        synth.configure_reverb(0.0, 0.0, 0.0);
        synth.set_chorus(0.0);
    } else {
        synth.set_chorus(0.3);
    }

    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: args.sample_rate,
        bits_per_sample: if args.float { 32 } else { 16 },
        sample_format: if args.float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut wav = hound::WavWriter::create(&args.out, spec)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    let write_err = |e: hound::Error| format!("cannot write {}: {e}", args.out.display());

    let progress = std::io::stderr().is_terminal();
    let sr = u64::from(args.sample_rate);
    let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
    let mut events = timeline.events.iter().peekable();
    let mut frame = 0u64;
    let mut silent_since: Option<u64> = None;
    let mut last_percent = u64::MAX;
    loop {
        while let Some((_, ev)) = events.next_if(|(f, _)| *f <= frame) {
            // Out-of-range data bytes cannot come from midly's types; a bad
            // event would be skipped, never fatal.
            let _ = synth.apply(*ev);
        }
        let next_event = events.peek().map_or(u64::MAX, |(f, _)| *f);
        let past_end = frame >= timeline.end;
        if past_end {
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
        let (bl, br) = (&mut l[..n], &mut r[..n]);
        synth.render(bl, br);
        for (a, b) in bl.iter().zip(br.iter()) {
            if args.float {
                wav.write_sample(*a).map_err(write_err)?;
                wav.write_sample(*b).map_err(write_err)?;
            } else {
                wav.write_sample(to_i16(*a)).map_err(write_err)?;
                wav.write_sample(to_i16(*b)).map_err(write_err)?;
            }
        }
        frame += n as u64;
        if progress && timeline.end > 0 {
            let percent = (frame.min(timeline.end) * 100 / timeline.end).min(100);
            if percent != last_percent {
                eprint!("\rrendering {}: {percent:3}%", args.midi.display());
                last_percent = percent;
            }
        }
    }
    wav.finalize().map_err(write_err)?;
    if progress {
        eprintln!();
    }
    let stats = synth.stats();
    eprintln!(
        "wrote {}: {:.1} s at {} Hz from {} with {} ({} voices stolen)",
        args.out.display(),
        frame as f64 / sr as f64,
        args.sample_rate,
        args.midi.display(),
        font_name,
        stats.voices_stolen
    );
    Ok(())
}

/// Float to 16-bit PCM, rounding to nearest; the limiter keeps input in
/// [-1, 1], and the clamp keeps the cast exact anyway.
fn to_i16(x: f32) -> i16 {
    (x * 32_767.0).round().clamp(-32_768.0, 32_767.0) as i16
}
