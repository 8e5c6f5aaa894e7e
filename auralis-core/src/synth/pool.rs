//! The voice pool: a fixed array of voices with the sounding ones packed
//! in front, priority stealing when it is full, and a few fade slots
//! beside it where stolen voices fade out instead of being cut.

use super::voice::Voice;

/// Stolen voices that may fade out at once beside the pool (8 with the
/// `compact` feature).
#[cfg(not(feature = "compact"))]
pub(crate) const FADE_SLOTS: usize = 16;
#[cfg(feature = "compact")]
pub(crate) const FADE_SLOTS: usize = 8;

/// `VOICES` voices, the sounding ones packed at the front, and
/// [`FADE_SLOTS`] voices fading out after being stolen.
///
/// Methods: [`VoicePool::allocate`] (steals when full),
/// [`VoicePool::retire_finished`], [`VoicePool::active_mut`],
/// [`VoicePool::lanes_mut`], [`VoicePool::set_polyphony`].
///
/// # Real-time
/// Nothing allocates; allocation is O(1) while there is room and
/// O(voices) when it steals.
pub(crate) struct VoicePool<const VOICES: usize> {
    voices: [Voice; VOICES],
    /// Voices sounding: `voices[..active]`.
    active: usize,
    /// Most voices that may sound at once, 1 to `VOICES`.
    polyphony: usize,
    fading: [Voice; FADE_SLOTS],
    /// Voices stolen to make room.
    pub(crate) stolen: u64,
    /// Fading voices ended at once because every fade slot was busy.
    pub(crate) hard_cuts: u64,
}

impl<const VOICES: usize> VoicePool<VOICES> {
    /// Every voice free, polyphony `VOICES`.
    pub(crate) const fn new() -> Self {
        Self {
            voices: [const { Voice::EMPTY }; VOICES],
            active: 0,
            polyphony: VOICES,
            fading: [const { Voice::EMPTY }; FADE_SLOTS],
            stolen: 0,
            hard_cuts: 0,
        }
    }

    /// Frees every voice at once (no fade) and forgets the counts; the
    /// polyphony limit goes back to `VOICES`.
    pub(crate) fn clear(&mut self) {
        for v in self.voices.iter_mut().chain(self.fading.iter_mut()) {
            *v = Voice::EMPTY;
        }
        self.active = 0;
        self.polyphony = VOICES;
        self.stolen = 0;
        self.hard_cuts = 0;
    }

    /// Ends every voice at once, keeping the counts and the limit.
    pub(crate) fn silence(&mut self) {
        for v in self.voices.iter_mut().chain(self.fading.iter_mut()) {
            v.done = true;
            v.retired = true;
        }
        self.active = 0;
    }

    /// Sets the polyphony limit (clamped to 1..=`VOICES`). Voices already
    /// sounding beyond it are not cut.
    pub(crate) fn set_polyphony(&mut self, voices: usize) {
        self.polyphony = voices.clamp(1, VOICES);
    }

    /// The polyphony limit.
    pub(crate) const fn polyphony(&self) -> usize {
        self.polyphony
    }

    /// Voices sounding (fading stolen voices not counted).
    pub(crate) const fn active_count(&self) -> usize {
        self.active
    }

    /// The sounding voices.
    pub(crate) fn active_mut(&mut self) -> &mut [Voice] {
        let n = self.active.min(VOICES);
        self.voices.get_mut(..n).unwrap_or(&mut [])
    }

    /// A slot for a new voice: the next free one while the pool is under
    /// its limit, else that of a voice that has finished but not yet been
    /// removed, else the lowest-priority voice's, which moves to a fade
    /// slot and fades out there. The caller starts the voice in the slot
    /// (or calls [`VoicePool::remove`] when it cannot).
    pub(crate) fn allocate(&mut self) -> usize {
        if self.active < self.polyphony.min(VOICES) {
            self.active += 1;
            self.active - 1
        } else if let Some(i) = self.active_mut().iter().position(|v| v.done) {
            i
        } else {
            self.steal()
        }
    }

    /// The voice in `slot`.
    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut Voice> {
        self.voices
            .get_mut(..self.active.min(VOICES))?
            .get_mut(slot)
    }

    /// Frees a slot: the lowest-priority voice — released before
    /// sustained, quiet before loud, old before new — moves to a fade slot.
    fn steal(&mut self) -> usize {
        let rank = |v: &Voice| (!v.released, v.loudness(), v.serial);
        let mut victim = 0;
        let mut best = (true, f32::MAX, u64::MAX);
        for (i, v) in self.voices.iter().enumerate().take(self.active) {
            let r = rank(v);
            if r < best {
                best = r;
                victim = i;
            }
        }
        self.stolen += 1;
        let fade = match self.fading.iter().position(|v| v.done) {
            Some(i) => i,
            None => {
                // Every fade slot busy: end the oldest fade at once.
                self.hard_cuts += 1;
                self.fading
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, v)| v.serial)
                    .map_or(0, |(i, _)| i)
            }
        };
        if let (Some(v), Some(f)) = (self.voices.get_mut(victim), self.fading.get_mut(fade)) {
            v.cut();
            core::mem::swap(v, f);
        }
        victim
    }

    /// Frees `slot`, keeping the sounding voices packed (the last one
    /// moves into it).
    pub(crate) fn remove(&mut self, slot: usize) {
        if slot < self.active {
            self.active -= 1;
            self.voices.swap(slot, self.active);
            if let Some(v) = self.voices.get_mut(self.active) {
                v.done = true;
                v.retired = true;
            }
        }
    }

    /// At a control-grid point: frees every finished voice, and retires
    /// finished fades from their lanes.
    pub(crate) fn retire_finished(&mut self) {
        let mut i = 0;
        while i < self.active {
            if self.voices.get(i).is_some_and(|v| v.done) {
                self.remove(i);
            } else {
                i += 1;
            }
        }
        for v in self.fading.iter_mut() {
            if v.done {
                v.retired = true;
            }
        }
    }

    /// The sounding voices and the fade slots (those with `retired` set
    /// hold no lane).
    pub(crate) fn lanes(&mut self) -> (&mut [Voice], &mut [Voice]) {
        let n = self.active.min(VOICES);
        let (active, _) = self.voices.split_at_mut(n);
        (active, &mut self.fading)
    }

    /// The voices that hold a lane, in lane order: the sounding ones,
    /// then the fades not yet retired.
    pub(crate) fn lanes_mut(&mut self) -> impl Iterator<Item = &mut Voice> {
        let n = self.active.min(VOICES);
        let (active, _) = self.voices.split_at_mut(n);
        active
            .iter_mut()
            .chain(self.fading.iter_mut().filter(|v| !v.retired))
    }
}
