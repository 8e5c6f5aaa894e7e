//! The seed's phrase-at-a-time interface (`ISynthesisEngine`), as an
//! engine of its own: a composer and a renderer, set up with the same
//! programs and mix as the streaming [`Engine`](super::Engine), which no
//! longer carries a second composer and a clock offset for it.

use core::marker::PhantomData;

use super::{lost, phrase_events, set_up, EngineError};
use crate::bank::DEFAULT_SF2;
use crate::music::{Composer, MusicalContext, Phrase, PhraseBars};
use crate::rate::SampleRate;
use crate::synth::{StreamRenderer, Synth, SynthError};

/// The seed's `ISynthesisEngine`: compose a phrase, then render it.
pub trait SynthesisEngine {
    /// Composes the next phrase in `context` (applied at once).
    fn generate_phrase(&mut self, context: MusicalContext, bars: PhraseBars) -> Phrase;
    /// Renders `phrase` from the synthesizer's current position into
    /// `left`/`right` (stereo f32, every sample in [-1, 1]); returns the
    /// frames written: the phrase's length, or the buffers' if shorter.
    /// Notes still sounding at its end ring on into the next phrase.
    fn render_phrase(&mut self, phrase: &Phrase, left: &mut [f32], right: &mut [f32]) -> usize;
    /// "CPU" and the instruction-set level in use.
    fn device(&self) -> &'static str;
}

/// The phrase-at-a-time engine: composes phrases from `seed` (the same
/// phrases a streaming engine of that seed and context composes) and
/// renders each when asked, through its own renderer (the built-in
/// [`Synth`] by default).
///
/// # Real-time
/// After construction nothing allocates, locks or panics.
pub struct PhraseEngine<'a, R = Synth<'a, 64>> {
    composer: Composer,
    synth: R,
    /// Events the renderer refused (its queue holds a phrase: 0).
    events_dropped: u64,
    /// The renderer may borrow its font for `'a`.
    font: PhantomData<&'a [u8]>,
}

impl<const VOICES: usize> PhraseEngine<'static, Synth<'static, VOICES>> {
    /// A phrase engine at `sample_rate` playing the built-in bank.
    pub fn new(
        seed: u64,
        sample_rate: SampleRate,
        context: MusicalContext,
    ) -> Result<Self, EngineError> {
        let font = crate::synth::SoundFont::parse(DEFAULT_SF2)
            .map_err(|e| EngineError::Synth(SynthError::from(e)))?;
        let mut synth = Synth::idle();
        synth.reinit(sample_rate);
        synth.add_font(font)?;
        Self::with_renderer(synth, seed, context)
    }
}

impl<'a, R: StreamRenderer<'a>> PhraseEngine<'a, R> {
    /// A phrase engine playing through `renderer`, which has its font
    /// loaded.
    pub fn with_renderer(
        mut renderer: R,
        seed: u64,
        context: MusicalContext,
    ) -> Result<Self, EngineError> {
        set_up(&mut renderer)?;
        Ok(Self {
            composer: Composer::new(seed, renderer.sample_rate(), context),
            synth: renderer,
            events_dropped: 0,
            font: PhantomData,
        })
    }

    /// The renderer (read-only).
    pub fn synth(&self) -> &R {
        &self.synth
    }

    /// Events the renderer refused since the engine was made.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }
}

impl<'a, R: StreamRenderer<'a>> SynthesisEngine for PhraseEngine<'a, R> {
    fn generate_phrase(&mut self, context: MusicalContext, bars: PhraseBars) -> Phrase {
        self.composer.set_context(context);
        self.composer.next_phrase(bars)
    }

    fn render_phrase(&mut self, phrase: &Phrase, left: &mut [f32], right: &mut [f32]) -> usize {
        let len = phrase
            .end
            .saturating_sub(phrase.start)
            .min(left.len().min(right.len()) as u64) as usize;
        // The phrase starts now, whatever its own timeline says.
        let base = self.synth.frame();
        let synth = &mut self.synth;
        let dropped = &mut self.events_dropped;
        phrase_events(phrase, |t, ev| {
            // At most ~400 events against a queue of 1024: always fits.
            lost(
                dropped,
                synth.schedule(base + t.saturating_sub(phrase.start), ev),
            );
        });
        if let (Some(l), Some(r)) = (left.get_mut(..len), right.get_mut(..len)) {
            self.synth.render(l, r);
        }
        len
    }

    fn device(&self) -> &'static str {
        self.synth.device()
    }
}
