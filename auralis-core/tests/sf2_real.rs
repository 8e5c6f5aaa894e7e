//! The SF2 view against real SoundFonts from Debian.

/// Says that a test skips, and why, where `cargo test` shows it: straight
/// to the process's stderr, past the test harness's capture.
#[path = "../../tests/src/skip.rs"]
#[allow(dead_code, unreachable_pub)] // shared by every test crate
mod skip;
use skip::read_or_skip;

use auralis_core::synth::SoundFont;

fn fonts() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for path in [
        "/usr/share/sounds/sf2/TimGM6mb.sf2",
        "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    ] {
        if let Some(b) = read_or_skip(path) {
            out.push((path, b));
        }
    }
    out
}

#[test]
fn real_fonts_parse_and_every_zone_resolves() {
    for (path, bytes) in fonts() {
        let sf = SoundFont::parse(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(sf.preset_count() >= 128, "{path}");
        let piano = sf.find_preset(0, 0).expect("program 0");
        assert!(!sf.preset(piano).unwrap().zones.is_empty());
        let mut samples = 0;
        for p in 0..sf.preset_count() {
            for bag in sf.preset(p).unwrap().zones {
                let zone = sf.preset_zone(bag).expect("preset zone");
                if let Some(i) = zone.instrument() {
                    for ibag in sf.instrument(i).expect("instrument").zones {
                        if let Some(s) = sf.instrument_zone(ibag).expect("instrument zone").sample()
                        {
                            let h = sf.sample(s).expect("sample");
                            assert!(h.end as usize <= sf.frames());
                            samples += 1;
                        }
                    }
                }
            }
        }
        assert!(samples > 100, "{path}: {samples}");
    }
}
