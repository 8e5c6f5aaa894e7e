//! The seed's phrase-at-a-time interface on the streaming engine.

use super::{phrase_events, Engine};
use crate::music::{MusicalContext, Phrase, PhraseBars};
use crate::synth::StreamRenderer;

/// The seed's `ISynthesisEngine`: compose a phrase, then render it.
///
/// An engine may serve this phrase-at-a-time interface and the streaming
/// one ([`Engine::next_chunk`]) both: phrases are composed by a composer
/// of their own (with the engine's seed), and a rendered phrase delays
/// the stream on the synthesizer's timeline without moving the stream's
/// frame count or its composition. They share the synthesizer, so notes
/// of one ring on into the other.
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

impl<'a, R: StreamRenderer<'a>> SynthesisEngine for Engine<'a, R> {
    fn generate_phrase(&mut self, context: MusicalContext, bars: PhraseBars) -> Phrase {
        self.phrases.set_context(context);
        self.phrases.next_phrase(bars)
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
            super::lost(
                dropped,
                synth.schedule(base + t.saturating_sub(phrase.start), ev),
            );
        });
        if let (Some(l), Some(r)) = (left.get_mut(..len), right.get_mut(..len)) {
            self.synth.render(l, r);
            self.lag += len as u64;
        }
        len
    }

    fn device(&self) -> &'static str {
        Engine::device(self)
    }
}
