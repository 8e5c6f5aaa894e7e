//! The audio callback's side of `play`: frames from the ring to the
//! device. The callback takes no lock, allocates nothing and makes no
//! system call: it reads the ring (two copies and an atomic store),
//! converts and applies the stop fade, and tells the rest of `play` what
//! happened through atomics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use auralis_core::buffer::Consumer;
use cpal::{FromSample, SizedSample};

/// Frames converted per step of a callback (the size of its scratch
/// buffer; a device asking for more is served in several steps).
const SCRATCH_FRAMES: usize = 1024;

/// What the callback and the rest of `play` tell each other.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Stored by the render thread after its last sample is in the ring:
    /// from then on an empty ring is the end of the music, not an
    /// underrun.
    pub(crate) finished: AtomicBool,
    /// Stored by the main thread (Ctrl-C): fade out now.
    pub(crate) stop: AtomicBool,
    /// Stored by the callback when nothing more will sound: the ring
    /// drained after `finished`, or the stop fade reached silence.
    pub(crate) ended: AtomicBool,
    /// Frames handed to the device so far, silence included.
    pub(crate) played: AtomicU64,
}

/// The callback's state: the ring's consumer, a scratch buffer made
/// before the device starts, and the stop fade.
pub(crate) struct Output {
    consumer: Consumer<'static>,
    shared: Arc<Shared>,
    channels: usize,
    scratch: Box<[i16]>,
    /// The stop fade's gain (1 until `stop`, then down to 0) and how much
    /// it falls per frame.
    gain: f32,
    step: f32,
}

impl Output {
    /// The callback for a device of `channels` channels at `rate` Hz,
    /// fading out over `fade` once stopped.
    pub(crate) fn new(
        consumer: Consumer<'static>,
        shared: Arc<Shared>,
        channels: u16,
        rate: u32,
        fade: std::time::Duration,
    ) -> Self {
        let fade_frames = (fade.as_secs_f32() * rate as f32).max(1.0);
        Self {
            consumer,
            shared,
            channels: usize::from(channels.max(1)),
            scratch: vec![0; SCRATCH_FRAMES * 2].into_boxed_slice(),
            gain: 1.0,
            step: 1.0 / fade_frames,
        }
    }

    /// Fills the device's buffer: whole frames of `channels` samples.
    /// Stereo goes to the first two channels (the rest are silent); a
    /// mono device gets the mean of left and right.
    pub(crate) fn fill<T: SizedSample + FromSample<f32>>(&mut self, out: &mut [T]) {
        let channels = self.channels;
        for block in out.chunks_mut(SCRATCH_FRAMES * channels) {
            let frames = block.len() / channels;
            let Some(pcm) = self.scratch.get_mut(..frames * 2) else {
                return;
            };
            take(&mut self.consumer, &self.shared, pcm);
            let stopping = self.shared.stop.load(Ordering::Relaxed);
            for (frame, lr) in block.chunks_exact_mut(channels).zip(pcm.chunks_exact(2)) {
                if stopping {
                    self.gain = (self.gain - self.step).max(0.0);
                }
                let scale = self.gain / 32_768.0;
                let (l, r) = (f32::from(lr[0]) * scale, f32::from(lr[1]) * scale);
                match frame {
                    [mono] => *mono = T::from_sample_((l + r) * 0.5),
                    [left, right, rest @ ..] => {
                        *left = T::from_sample_(l);
                        *right = T::from_sample_(r);
                        rest.fill(T::EQUILIBRIUM);
                    }
                    [] => {}
                }
            }
            // A partial frame at the end (a device that asks for one) is
            // silent.
            block
                .get_mut(frames * channels..)
                .unwrap_or_default()
                .fill(T::EQUILIBRIUM);
            if stopping && self.gain == 0.0 {
                self.shared.ended.store(true, Ordering::Release);
            }
            self.shared
                .played
                .fetch_add(frames as u64, Ordering::Relaxed);
        }
    }
}

/// One step's samples from the ring: a shortfall is silence, counted as
/// an underrun (one per step of up to [`SCRATCH_FRAMES`]) while the music
/// goes on, and the end once it is over.
fn take(consumer: &mut Consumer<'static>, shared: &Shared, pcm: &mut [i16]) {
    if shared.finished.load(Ordering::Acquire) {
        let n = consumer.read(pcm).unwrap_or(0);
        pcm.get_mut(n..).unwrap_or_default().fill(0);
        if consumer.is_empty() {
            shared.ended.store(true, Ordering::Release);
        }
    } else {
        consumer.fill(pcm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auralis_core::buffer::leak;
    use std::time::Duration;

    fn output(capacity: usize, channels: u16) -> (auralis_core::buffer::Producer<'static>, Output) {
        let (producer, consumer) = leak(capacity);
        let out = Output::new(
            consumer,
            Arc::new(Shared::default()),
            channels,
            1_000,
            Duration::from_millis(10),
        );
        (producer, out)
    }

    #[test]
    fn plays_what_the_ring_holds_in_order_then_silence_counted_as_an_underrun() {
        let (mut producer, mut out) = output(4_096, 2);
        let music: Vec<i16> = (0..2_000).map(|i| (i * 16) as i16).collect();
        assert!(producer.write(&music));
        let mut device = vec![0.5f32; 2_040];
        let ((), allocations) =
            auralis_host::alloc_count::allocations_during(|| out.fill(&mut device));
        assert_eq!(allocations, 0, "the callback allocated");
        for (got, want) in device.iter().zip(&music) {
            assert_eq!(*got, f32::from(*want) / 32_768.0);
        }
        assert!(
            device[2_000..].iter().all(|&s| s == 0.0),
            "no garbage after the music"
        );
        assert_eq!(producer.monitor().underruns(), 1);
        assert_eq!(out.shared.played.load(Ordering::Relaxed), 1_020);
        assert!(!out.shared.ended.load(Ordering::Relaxed));
    }

    #[test]
    fn the_end_of_the_music_is_not_an_underrun() {
        let (mut producer, mut out) = output(64, 2);
        assert!(producer.write(&[100; 32]));
        out.shared.finished.store(true, Ordering::Release);
        let mut device = vec![7i16; 40];
        out.fill(&mut device);
        assert_eq!(&device[..32], &[100; 32]);
        assert_eq!(&device[32..], &[0; 8]);
        assert_eq!(producer.monitor().underruns(), 0);
        assert!(out.shared.ended.load(Ordering::Relaxed));
    }

    #[test]
    fn stop_fades_to_silence_over_the_fade_and_then_ends() {
        // 10 ms at 1 kHz: 10 frames.
        let (mut producer, mut out) = output(256, 2);
        assert!(producer.write(&[16_384; 200]));
        out.shared.stop.store(true, Ordering::Relaxed);
        let mut device = vec![0f32; 40];
        out.fill(&mut device);
        let left: Vec<f32> = device.iter().step_by(2).copied().collect();
        assert!(
            left.windows(2).all(|w| w[1] < w[0] || w[1] == 0.0),
            "{left:?}"
        );
        assert!(left[0] > 0.4 && left[0] < 0.5, "{left:?}");
        assert!(left[10..].iter().all(|&s| s == 0.0), "{left:?}");
        assert!(out.shared.ended.load(Ordering::Relaxed));
    }

    #[test]
    fn mono_gets_the_mean_and_extra_channels_are_silent() {
        let (mut producer, mut mono) = output(64, 1);
        assert!(producer.write(&[1_000, 3_000, -2_000, 0]));
        let mut device = [0i16; 2];
        mono.fill(&mut device);
        assert_eq!(device, [2_000, -1_000]);

        let (mut producer, mut surround) = output(64, 4);
        assert!(producer.write(&[1_000, 3_000]));
        let mut device = [9i16; 4];
        surround.fill(&mut device);
        assert_eq!(device, [1_000, 3_000, 0, 0]);
    }

    #[test]
    fn a_callback_larger_than_the_scratch_is_served_in_steps() {
        let (mut producer, mut out) = output(8_192, 2);
        let music: Vec<i16> = (0..6_000).map(|i| i as i16).collect();
        assert!(producer.write(&music));
        let mut device = vec![0i16; 6_000];
        out.fill(&mut device);
        assert_eq!(device, music);
        assert_eq!(producer.monitor().underruns(), 0);
    }
}
