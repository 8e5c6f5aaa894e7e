//! The sound card for `play`: finding the device the user named (or the
//! system's default), and the stream format to open it with.

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{SampleFormat, StreamConfig, SupportedStreamConfigRange};

/// The rate the engine is tuned and mastered at; used whenever the
/// device offers it.
const PREFERRED_HZ: u32 = 44_100;

/// Sample formats `play` writes, best first.
const FORMATS: [SampleFormat; 4] = [
    SampleFormat::I16,
    SampleFormat::F32,
    SampleFormat::I32,
    SampleFormat::U16,
];

/// Prints every output device, the default marked, with the format
/// `play` would open it with.
pub(crate) fn list() -> Result<(), String> {
    let host = cpal::default_host();
    let default = host.default_output_device().and_then(|d| d.name().ok());
    let devices = host
        .output_devices()
        .map_err(|e| format!("cannot list the audio devices ({}): {e}", host.id().name()))?;
    let mut any = false;
    for device in devices {
        let Ok(name) = device.name() else { continue };
        any = true;
        let mark = if default.as_deref() == Some(name.as_str()) {
            " (default)"
        } else {
            ""
        };
        match choose(&device) {
            Ok((config, format)) => println!(
                "{name}{mark}: {} channel{}, {} Hz, {format}",
                config.channels,
                if config.channels == 1 { "" } else { "s" },
                config.sample_rate.0
            ),
            Err(e) => println!("{name}{mark}: cannot be used ({e})"),
        }
    }
    if !any {
        println!("no output devices ({})", host.id().name());
    }
    Ok(())
}

/// The device called `name`, or the default one.
pub(crate) fn open(name: Option<&str>) -> Result<(cpal::Device, String), String> {
    let host = cpal::default_host();
    let Some(name) = name else {
        let device = host.default_output_device().ok_or_else(|| {
            format!(
                "this computer has no default audio output ({}): is a sound server \
                 (PulseAudio, PipeWire) running? --list-devices shows what there is",
                host.id().name()
            )
        })?;
        let name = device
            .name()
            .unwrap_or_else(|_| "the default device".into());
        return Ok((device, name));
    };
    let devices = host
        .output_devices()
        .map_err(|e| format!("cannot list the audio devices: {e}"))?;
    let mut names = Vec::new();
    for device in devices {
        match device.name() {
            Ok(n) if n == name => return Ok((device, n)),
            Ok(n) => names.push(n),
            Err(_) => {}
        }
    }
    Err(format!(
        "no audio output called '{name}'; there {}: {} (--list-devices says more)",
        if names.len() == 1 { "is" } else { "are" },
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    ))
}

/// The stream to open: stereo at 44.1 kHz in the best format the device
/// takes, or else its own default format (the engine renders at any rate
/// from 8 to 192 kHz, so nothing is resampled on this side).
pub(crate) fn choose(device: &cpal::Device) -> Result<(StreamConfig, SampleFormat), String> {
    let ranges: Vec<SupportedStreamConfigRange> = device
        .supported_output_configs()
        .map_err(|e| format!("cannot ask the device what it plays: {e}"))?
        .filter(|r| FORMATS.contains(&r.sample_format()))
        .collect();
    let rank = |r: &SupportedStreamConfigRange| {
        let stereo = r.channels() == 2;
        let rate = (r.min_sample_rate().0..=r.max_sample_rate().0).contains(&PREFERRED_HZ);
        let format = FORMATS
            .iter()
            .position(|f| *f == r.sample_format())
            .unwrap_or(FORMATS.len());
        (!stereo, !rate, format)
    };
    if let Some(best) = ranges.iter().min_by_key(|r| rank(r)) {
        let (_, rate_missing, _) = rank(best);
        if !rate_missing {
            let config = best.with_sample_rate(cpal::SampleRate(PREFERRED_HZ));
            return Ok((config.config(), config.sample_format()));
        }
    }
    let default = device
        .default_output_config()
        .map_err(|e| format!("the device has no usable output format: {e}"))?;
    if !FORMATS.contains(&default.sample_format()) {
        return Err(format!(
            "the device plays only {} samples, which play does not write (it writes 16- and 32-bit integers and 32-bit floats)",
            default.sample_format()
        ));
    }
    Ok((default.config(), default.sample_format()))
}
