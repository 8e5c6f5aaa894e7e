//! `auralis-host station`: a station as a pure Icecast source, with no
//! HTTP server of its own.

use std::path::PathBuf;
use std::time::Duration;

use auralis_core::music::{MusicalContext, Preset};
use auralis_host::station::{Seed, Station, StationSpec};
use auralis_host::transport::icecast::{push, Target};
use tokio::sync::watch;

/// Arguments of `station`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Example, with an Icecast 2.4 server on this machine on port 8001 (Auralis's own
server uses 8000) and the source password hackme:
  AURALIS_ICECAST_URL=http://source:hackme@127.0.0.1:8001/sleep.ogg \\
      auralis-host station --name sleep --preset sleep
then listen to http://127.0.0.1:8001/sleep.ogg with any player. When Icecast
restarts, the station reconnects (backoff up to 5 s) and the composition goes
on where it was. Relays of that Icecast serve audiences beyond one machine.")]
pub(crate) struct StationArgs {
    /// The station's name (letters, digits, - and _)
    #[arg(long)]
    name: String,
    /// A mood instead of mode, tempo and intensity: focus, meditation,
    /// sleep or bright (the key stays as given)
    #[arg(long, value_parser = crate::compose::parse_preset)]
    preset: Option<Preset>,
    /// Key: a MIDI root pitch 60–71 or a note name (C, D, Eb, F#, …)
    #[arg(long, value_parser = crate::compose::parse_key)]
    key: Option<u8>,
    /// Mode: aeolian, dorian, phrygian, lydian, ionian or mixolydian
    #[arg(long, value_parser = crate::compose::parse_mode, conflicts_with = "preset")]
    mode: Option<auralis_core::music::Mode>,
    /// Tempo in beats per minute, 40–90
    #[arg(long, value_parser = crate::compose::parse_bpm, conflicts_with = "preset")]
    bpm: Option<f32>,
    /// Note density and loudness, 0.0–1.0
    #[arg(long, value_parser = crate::compose::parse_intensity, conflicts_with = "preset")]
    intensity: Option<f32>,
    /// A whole number, or "daily" for a fresh composition each day
    #[arg(long, default_value = "daily")]
    seed: String,
    /// The Icecast mount: http://source:PASSWORD@HOST:PORT/MOUNT.ogg (or
    /// the environment variable, which keeps the password out of the
    /// process list)
    #[arg(
        long,
        value_name = "URL",
        env = "AURALIS_ICECAST_URL",
        hide_env_values = true
    )]
    icecast: String,
    /// A SoundFont (.sf2) to play instead of the built-in bank
    #[arg(long, value_name = "FILE.sf2")]
    soundfont: Option<PathBuf>,
}

impl StationArgs {
    fn spec(&self) -> Result<StationSpec, String> {
        // Each value was checked by its parser (the same as render's).
        let mut ctx = MusicalContext::DEFAULT;
        if let Some(p) = self.preset {
            ctx = ctx.with_preset(p);
        }
        if let Some(k) = self.key {
            ctx = ctx.with_key(k).map_err(|e| e.to_string())?;
        }
        if let Some(m) = self.mode {
            ctx = ctx.with_mode(m);
        }
        if let Some(b) = self.bpm {
            ctx = ctx.with_bpm(b).map_err(|e| e.to_string())?;
        }
        if let Some(i) = self.intensity {
            ctx = ctx.with_intensity(i).map_err(|e| e.to_string())?;
        }
        let seed = match self.seed.as_str() {
            "daily" => Seed::Daily,
            s => Seed::Fixed(
                s.parse()
                    .map_err(|_| format!("--seed {s} is not a whole number or \"daily\""))?,
            ),
        };
        let spec = StationSpec {
            name: self.name.clone(),
            context: ctx,
            seed,
            icecast: Some(self.icecast.clone()),
        };
        spec.check()?;
        Ok(spec)
    }
}

/// Pushes the station until SIGINT or SIGTERM.
pub(crate) fn run(args: &StationArgs) -> Result<(), String> {
    let spec = args.spec()?;
    let target = Target::parse(&args.icecast)?;
    crate::serve::init_logging();
    let (font, font_name): (&'static [u8], String) = match &args.soundfont {
        None => (auralis_core::bank::DEFAULT_SF2, "the built-in bank".into()),
        Some(path) => {
            let file = auralis_core::font_file::FontFile::open(path)
                .map_err(|e| format!("cannot use SoundFont: {e}"))?;
            (
                Box::leak(Box::new(file)).bytes(),
                path.display().to_string(),
            )
        }
    };
    let font = auralis_core::synth::SoundFont::parse(font)
        .map_err(|e| format!("cannot play {font_name}: {e}"))?;
    let station = Station::start(&spec, font)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    eprintln!(
        "Auralis station {} (seed {}) is pushing to {target} (Ctrl-C stops)",
        spec.name,
        station.seed()
    );
    runtime.block_on(async {
        let (stop_tx, stop_rx) = watch::channel(false);
        let pushing = tokio::spawn(push(std::sync::Arc::clone(&station), target, stop_rx));
        crate::serve::stop_signal().await;
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(2), pushing).await;
    });
    station.stop();
    eprintln!(
        "stopped after {} chunks",
        station.chunks.load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}
