//! After the voices are set for a segment: render them eight at a time,
//! sum the lanes, run the effects, apply the gain and the limiter. Not
//! generic over the pool's size, so it is compiled (and optimised) once,
//! in this crate, for every instruction-set level.
//!
//! Optimised builds force the voice and effect kernels inline into each
//! instruction set's segment function, so that they are compiled with its
//! instructions. Unoptimised builds (`cfg(auralis_unoptimised)`, set by
//! the build script at opt-level 0) leave them as functions of their own:
//! there nothing shares stack slots, and one function holding every
//! kernel would need hundreds of KiB of stack where a chunk must render
//! in 64 KiB (`tests/tests/engine.rs`).

use super::dsp::CONTROL_FRAMES;
use super::effects::{Chorus, Limiter, Reverb};
use super::lanes::{render_group, Buses, SegmentSpec, LANES};
use super::sf2::SoundFont;
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
use super::simd::Portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::simd::Wasm128;
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Sse2};
use super::simd::{Lanes, Simd};
use super::voice::{Interpolation, Voice};

/// The render chain of a synthesizer, from voices to output samples.
pub(crate) struct Mixer {
    pub(crate) reverb: Reverb,
    pub(crate) chorus: Chorus,
    limiter: Limiter,
    /// Each voice's share of the segment, one lane per voice of a group.
    buses: Buses,
    /// The buses summed across lanes: left, right, reverb, chorus.
    bufs: [[f32; CONTROL_FRAMES as usize]; 4],
    pub(crate) simd: Simd,
    pub(crate) interpolation: Interpolation,
    /// Master gain before the limiter.
    pub(crate) gain: f32,
}

impl Mixer {
    pub(crate) const fn new() -> Self {
        Self {
            reverb: Reverb::new(),
            chorus: Chorus::new(),
            limiter: Limiter::new(),
            buses: Buses::new(),
            bufs: [[0.0; CONTROL_FRAMES as usize]; 4],
            simd: Simd::BASELINE,
            interpolation: Interpolation::Cubic,
            gain: 0.5,
        }
    }

    /// As new, at `sample_rate`, with the widest instruction set allowed.
    pub(crate) fn reinit(&mut self, sample_rate: u32) {
        self.reverb.prepare(sample_rate);
        self.reverb.configure(0.5, 0.5, 0.2);
        self.chorus = Chorus::new();
        self.chorus.prepare(sample_rate);
        self.limiter.prepare(sample_rate);
        self.bufs = [[0.0; CONTROL_FRAMES as usize]; 4];
        self.simd = Simd::best();
        self.interpolation = Interpolation::Cubic;
        self.gain = 0.5;
    }

    /// Chooses the reverb's line limit and empties the reverb.
    pub(crate) fn set_reverb_size(&mut self, size: super::effects::ReverbSize, sample_rate: u32) {
        self.reverb.set_size(size);
        self.reverb.prepare(sample_rate);
    }

    /// Empties the effects' delay lines (the settings stay).
    pub(crate) fn clear_effects(&mut self, sample_rate: u32) {
        self.reverb.prepare(sample_rate);
        self.chorus.prepare(sample_rate);
        self.limiter.prepare(sample_rate);
    }

    /// Renders one segment (at most a control block, crossing no event)
    /// of the sounding voices and the unretired fades into `left` and
    /// `right`, with the widest instruction set allowed.
    pub(crate) fn segment(
        &mut self,
        active: &mut [Voice],
        fading: &mut [Voice],
        fonts: &[Option<SoundFont<'_>>],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            if self.simd.is_avx2() {
                #[allow(unsafe_code)]
                // SAFETY: a `Simd` says AVX2 only where the CPU has it: made
                // by `Simd::detect`, or by `Simd::avx2_unchecked`, whose
                // caller promised it.
                unsafe {
                    self.segment_avx2(active, fading, fonts, left, right)
                };
            } else {
                self.segment_on(Sse2, active, fading, fonts, left, right);
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        self.segment_on(Wasm128, active, fading, fonts, left, right);
        #[cfg(not(any(
            target_arch = "x86_64",
            all(target_arch = "wasm32", target_feature = "simd128")
        )))]
        self.segment_on(Portable, active, fading, fonts, left, right);
    }

    /// [`Mixer::segment_on`] with AVX2.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx2")]
    unsafe fn segment_avx2(
        &mut self,
        active: &mut [Voice],
        fading: &mut [Voice],
        fonts: &[Option<SoundFont<'_>>],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        // SAFETY: the caller promised AVX2.
        let s = unsafe { Avx2::new() };
        self.segment_on(s, active, fading, fonts, left, right);
    }

    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    fn segment_on<S: Lanes>(
        &mut self,
        s: S,
        active: &mut [Voice],
        fading: &mut [Voice],
        fonts: &[Option<SoundFont<'_>>],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let n = left.len().min(right.len()).min(CONTROL_FRAMES as usize);
        self.buses.start();
        let sends = self.reverb.is_on() || self.chorus.is_on();
        // Voices eight at a time, grouped by font, in lane order.
        for (fi, font) in fonts.iter().enumerate() {
            let Some(font) = font else { continue };
            let spec = SegmentSpec {
                data: font.sample_data(),
                frames: n,
                interpolation: self.interpolation,
                sends,
            };
            let mut group: heapless::Vec<&mut Voice, LANES> = heapless::Vec::new();
            let voices = active
                .iter_mut()
                .chain(fading.iter_mut().filter(|v| !v.retired))
                .filter(|v| v.font == fi);
            for v in voices {
                if let Err(v) = group.push(v) {
                    render_group(s, &mut group, spec, &mut self.buses);
                    group.clear();
                    let _ = group.push(v);
                }
            }
            if !group.is_empty() {
                render_group(s, &mut group, spec, &mut self.buses);
            }
        }
        let [bl, br, brev, bcho] = &mut self.bufs;
        let (Some(bl), Some(br), Some(brev), Some(bcho)) = (
            bl.get_mut(..n),
            br.get_mut(..n),
            brev.get_mut(..n),
            bcho.get_mut(..n),
        ) else {
            return;
        };
        self.buses
            .sum_into(s, [&mut *bl, &mut *br, &mut *brev, &mut *bcho], n, sends);
        self.reverb.process(s, brev, bl, br);
        self.chorus.process(s, bcho, bl, br);
        self.limiter.run(s, self.gain, [bl, br], left, right);
    }
}
