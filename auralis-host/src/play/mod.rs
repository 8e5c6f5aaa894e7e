//! `auralis-host play`: the endless stream on this computer's own sound
//! card.
//!
//! A render thread keeps the core's ring ([`auralis_core::buffer`], the
//! seed's `IRingBuffer`) filled ahead of the device, one chunk (a fifth of
//! `--buffer-ms`) whenever the [`BufferManager`] says one fits; the
//! device's callback ([`output::Output`]) reads whatever number of frames
//! it asks for, with no lock, allocation or system call. The main thread
//! draws the status line and turns Ctrl-C into a short fade.

mod device;
mod output;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auralis_core::buffer::{leak, BufferManager, Health, Producer};
use auralis_core::engine::{to_pcm, Engine};
use auralis_core::music::MusicalContext;
use auralis_core::SampleRate;
use clap::Args;
use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use crate::compose::MusicArgs;
use crate::render::{clock, SoundArgs};
use output::{Output, Shared};

/// The fade at the end of `--minutes` (the page's sleep timer).
const END_FADE: Duration = Duration::from_secs(10);
/// The fade after Ctrl-C.
const STOP_FADE: Duration = Duration::from_millis(200);
/// How long the main thread waits for the stop fade before leaving anyway
/// (a device that stopped calling back).
const STOP_PATIENCE: Duration = Duration::from_millis(600);
/// How often the main thread looks at the clock, the signals and the ring.
const TICK: Duration = Duration::from_millis(50);
/// The status line's period when stderr is not a terminal.
const LOG_PERIOD: Duration = Duration::from_secs(60);

/// Arguments of `play`.
#[derive(Debug, Args)]
pub(crate) struct PlayArgs {
    #[command(flatten)]
    music: MusicArgs,

    #[command(flatten)]
    sound: SoundArgs,

    /// Add a soft low drone on the key's root.
    #[arg(long)]
    drone: bool,

    /// The output device, by a name from --list-devices. Default: the
    /// system's default output.
    #[arg(long, value_name = "NAME")]
    device: Option<String>,

    /// List the output devices (the default marked) and exit.
    #[arg(long)]
    list_devices: bool,

    /// Music rendered ahead of the device, in milliseconds (100–5000):
    /// more rides out a busier machine, less starts sooner.
    #[arg(long, default_value_t = 500, value_name = "MS", value_parser = parse_buffer_ms)]
    buffer_ms: u32,
}

fn parse_buffer_ms(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(ms) if (100..=5_000).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "'{s}' is not a buffer length: use a whole number of milliseconds from 100 to 5000"
        )),
    }
}

/// Runs `play`; the error is a sentence for the user.
pub(crate) fn run(args: &PlayArgs) -> Result<(), String> {
    if args.list_devices {
        return device::list();
    }
    crate::signals::catch();
    let context = args.music.context()?;
    let seed = args.music.seed();
    let font = args.sound.font()?;
    let (device, device_name) = device::open(args.device.as_deref())?;
    let (config, format) = device::choose(&device).map_err(|e| {
        format!(
            "cannot open {device_name}: {e} (is a sound server such as PulseAudio or PipeWire running, \
             or a sound card present? --list-devices shows what there is)"
        )
    })?;
    let rate = SampleRate::new(config.sample_rate.0)
        .map_err(|e| format!("{device_name} plays at {} Hz: {e}", config.sample_rate.0))?;
    let engine = args.sound.engine(&font, seed, rate, context, args.drone)?;

    // The ring holds --buffer-ms in five chunks, the seed's shape.
    let chunk = (rate.hz() as usize * args.buffer_ms as usize / 5_000).max(1) * 2;
    let manager = BufferManager::new(chunk, chunk * 5);
    let (producer, consumer) = leak(chunk * 5);
    let monitor = producer.monitor();
    let shared = Arc::new(Shared::default());
    let total = args
        .music
        .minutes
        .map(|m| (m * 60.0 * f64::from(rate.hz())).round() as u64);
    let status = Status::new(context, seed, args.music.seed.is_none());
    let quit = AtomicBool::new(false);

    let ending = std::thread::scope(|scope| -> Result<Ending, String> {
        let render = Render {
            engine,
            producer,
            manager,
            shared: &shared,
            quit: &quit,
            total,
            end_fade: (END_FADE.as_secs_f64() * f64::from(rate.hz())) as u64,
            chord: &status.chord,
        };
        let renderer = std::thread::Builder::new()
            .name("auralis-render".into())
            .spawn_scoped(scope, move || render.run())
            .map_err(|e| format!("cannot start the render thread: {e}"))?;
        // Start the device once the ring is full (or the music, shorter
        // than the ring, is all in it).
        while manager.health(monitor.depth()) != Health::Full
            && !shared.finished.load(Ordering::Acquire)
            && !renderer.is_finished()
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        let output = Output::new(
            consumer,
            Arc::clone(&shared),
            config.channels,
            rate.hz(),
            STOP_FADE,
        );
        let result = open_stream(&device, &config, format, output)
            .map_err(|e| format!("cannot play on {device_name}: {e}"))
            .and_then(|stream| {
                stream
                    .play()
                    .map_err(|e| format!("cannot start {device_name}: {e}"))?;
                eprintln!(
                    "playing on {device_name} at {} Hz, {} ms ahead: Ctrl-C stops",
                    rate.hz(),
                    args.buffer_ms
                );
                let ending = wait(&shared, &status, &manager, &monitor, rate);
                // The device's own buffer still holds the last moments.
                std::thread::sleep(Duration::from_millis(150));
                drop(stream);
                Ok(ending)
            });
        quit.store(true, Ordering::Relaxed);
        let _ = renderer.join();
        result
    })?;
    status.finish(&shared, &monitor, rate, &ending);
    Ok(())
}

/// What ended the playing, and when `play` saw it.
struct Ending {
    what: &'static str,
    at: Instant,
}

/// Waits until the music ends (`--minutes`) or Ctrl-C's fade is done,
/// drawing the status line.
fn wait(
    shared: &Shared,
    status: &Status,
    manager: &BufferManager,
    monitor: &auralis_core::buffer::Monitor<'_>,
    rate: SampleRate,
) -> Ending {
    let mut stop_at: Option<Instant> = None;
    let mut status_at = Instant::now();
    let tty = std::io::stderr().is_terminal();
    loop {
        match stop_at {
            Some(at) if shared.ended.load(Ordering::Acquire) || at.elapsed() > STOP_PATIENCE => {
                return Ending { what: "Ctrl-C", at };
            }
            None if shared.ended.load(Ordering::Acquire) => {
                return Ending {
                    what: "the music's last sample",
                    at: Instant::now(),
                };
            }
            _ => {}
        }
        if crate::signals::interrupted() && stop_at.is_none() {
            shared.stop.store(true, Ordering::Relaxed);
            stop_at = Some(Instant::now());
        }
        if tty || status_at.elapsed() >= LOG_PERIOD {
            let health = manager.health(monitor.depth());
            status.show(shared, health, monitor.underruns(), rate, tty);
            status_at = Instant::now();
        }
        std::thread::sleep(TICK);
    }
}

/// Opens the device with the callback for its sample format.
fn open_stream(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    format: SampleFormat,
    output: Output,
) -> Result<cpal::Stream, String> {
    fn build<T: SizedSample + FromSample<f32>>(
        device: &cpal::Device,
        config: &cpal::StreamConfig,
        mut output: Output,
    ) -> Result<cpal::Stream, String> {
        device
            .build_output_stream(
                config,
                move |data: &mut [T], _| output.fill(data),
                |e| eprintln!("\nwarning: the audio device reported: {e}"),
                None,
            )
            .map_err(|e| e.to_string())
    }
    match format {
        SampleFormat::I16 => build::<i16>(device, config, output),
        SampleFormat::F32 => build::<f32>(device, config, output),
        SampleFormat::I32 => build::<i32>(device, config, output),
        SampleFormat::U16 => build::<u16>(device, config, output),
        other => Err(format!("{other} samples are not written")),
    }
}

/// The render thread: keeps the ring full, a chunk at a time.
struct Render<'a> {
    engine: Box<Engine<'a>>,
    producer: Producer<'static>,
    manager: BufferManager,
    shared: &'a Shared,
    quit: &'a AtomicBool,
    /// Frames to play in all (`--minutes`), or endless.
    total: Option<u64>,
    /// Frames of the closing fade.
    end_fade: u64,
    /// The chord now rendered, for the status line.
    chord: &'a Mutex<String>,
}

impl Render<'_> {
    fn run(mut self) {
        let frames = self.manager.chunk() / 2;
        let (mut l, mut r) = (vec![0f32; frames], vec![0f32; frames]);
        let mut pcm = vec![0i16; frames * 2];
        // A chunk's time, in small naps while the ring is full.
        let nap = Duration::from_secs_f64(
            frames as f64 / f64::from(self.engine.sample_rate().hz()) / 8.0,
        );
        let mut at = 0u64;
        let mut chord = None;
        loop {
            let quit = self.quit;
            let room = self.manager.wait_for_space(&self.producer, || {
                std::thread::sleep(nap);
                !quit.load(Ordering::Relaxed)
            });
            if !room {
                return;
            }
            let n = match self.total {
                Some(total) => (total.saturating_sub(at)).min(frames as u64) as usize,
                None => frames,
            };
            if n == 0 {
                self.shared.finished.store(true, Ordering::Release);
                return;
            }
            self.engine.render(&mut l[..n], &mut r[..n]);
            for (i, (frame, (a, b))) in pcm
                .chunks_exact_mut(2)
                .zip(l.iter().zip(&r))
                .take(n)
                .enumerate()
            {
                let gain = self.fade_gain(at + i as u64);
                frame[0] = to_pcm(a * gain);
                frame[1] = to_pcm(b * gain);
            }
            // Room for a whole chunk was checked above.
            let _written = self.producer.write(&pcm[..n * 2]);
            debug_assert!(_written);
            at += n as u64;
            if self.engine.chord() != chord {
                chord = self.engine.chord();
                let context = self.engine.context();
                let name = chord.map_or_else(
                    || "—".to_string(),
                    |c| c.harte(context.spelling()).to_string(),
                );
                if let Ok(mut shown) = self.chord.lock() {
                    *shown = name;
                }
            }
        }
    }

    /// The closing fade's gain at frame `at`: 1, then down to 0 over the
    /// last `end_fade` frames of `--minutes`.
    fn fade_gain(&self, at: u64) -> f32 {
        match self.total {
            Some(total) if total.saturating_sub(at) < self.end_fade => {
                (total.saturating_sub(at) as f64 / self.end_fade as f64) as f32
            }
            _ => 1.0,
        }
    }
}

/// The status line: key and mode, the chord, elapsed time, the ring's
/// health and underruns.
struct Status {
    context: MusicalContext,
    seed: u64,
    fresh_seed: bool,
    chord: Mutex<String>,
}

impl Status {
    fn new(context: MusicalContext, seed: u64, fresh_seed: bool) -> Self {
        Self {
            context,
            seed,
            fresh_seed,
            chord: Mutex::new("—".into()),
        }
    }

    fn line(&self, shared: &Shared, health: &str, underruns: u32, rate: SampleRate) -> String {
        let played = shared.played.load(Ordering::Relaxed) / u64::from(rate.hz());
        let chord = self.chord.lock().map(|c| c.clone()).unwrap_or_default();
        format!(
            "{} {} · chord {chord} · {} · buffer {health} · {underruns} underrun{}",
            self.context.spelling().name(self.context.key_pc()),
            self.context.mode(),
            clock(played),
            if underruns == 1 { "" } else { "s" }
        )
    }

    fn show(&self, shared: &Shared, health: Health, underruns: u32, rate: SampleRate, tty: bool) {
        let line = self.line(shared, health.name(), underruns, rate);
        if tty {
            // Clear to the end of the line: the chord's name varies in length.
            eprint!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    }

    /// The closing line, and the seed to hear this again.
    fn finish(
        &self,
        shared: &Shared,
        monitor: &auralis_core::buffer::Monitor<'_>,
        rate: SampleRate,
        ending: &Ending,
    ) {
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
        let underruns = monitor.underruns();
        let played = shared.played.load(Ordering::Relaxed) / u64::from(rate.hz());
        eprintln!(
            "played {} (seed {}): {underruns} underrun{}; stopped {:.2} s after {}",
            clock(played),
            self.seed,
            if underruns == 1 { "" } else { "s" },
            ending.at.elapsed().as_secs_f64(),
            ending.what
        );
        if self.fresh_seed {
            eprintln!("to play this again, add --seed {}", self.seed);
        }
    }
}
