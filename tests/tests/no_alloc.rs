//! The hot paths allocate nothing: proven with a counting global allocator.

use auralis_core::music::{Composer, Mode, MusicalContext, Phrase, PhraseBars, Preset};
use auralis_tests::{allocations_during, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn the_counter_sees_allocations() {
    // Without this the zero below could be a broken counter.
    let (v, n) = allocations_during(|| vec![1u8; 64]);
    assert_eq!(v.len(), 64);
    assert!(n >= 1);
}

#[test]
fn composing_hours_of_music_allocates_nothing() {
    let ctx = MusicalContext::new(62, Mode::Dorian, 90.0, 1.0).unwrap();
    let mut composer = Composer::new(42, 48_000, ctx).unwrap();
    let mut phrase = Phrase::empty();
    let presets = Preset::ALL;
    let ((notes, phrases), allocations) = allocations_during(|| {
        let mut notes = 0usize;
        let mut phrases = 0usize;
        // Three hours of music with a context change every ten phrases and
        // both phrase lengths, through both entry points.
        while composer.position() < 3 * 3600 * 48_000 {
            if phrases % 10 == 9 {
                let p = presets[phrases / 10 % presets.len()];
                composer.set_context(composer.context().with_preset(p));
            }
            if phrases % 2 == 0 {
                composer.compose_into(PhraseBars::Sixteen, &mut phrase);
                notes += phrase.melody.notes().len();
            } else {
                let p = composer.next_phrase(PhraseBars::Eight);
                notes += p.melody.notes().len();
            }
            phrases += 1;
        }
        (notes, phrases)
    });
    assert_eq!(allocations, 0, "composing allocated {allocations} times");
    assert!(
        phrases > 150 && notes > 5000,
        "{phrases} phrases, {notes} notes"
    );
    assert_eq!(composer.stats().dropped_events, 0);
}
