//! A listener of a station: the pre-roll, then the live chunks as the
//! station publishes them. The station paces itself (one chunk per
//! 100 ms), so this source only forwards; a listener that falls
//! [`LISTENER_QUEUE`](crate::station::LISTENER_QUEUE) chunks behind has
//! lagged and ends as too slow. No chunk is handed out twice: after a
//! pause the listener rejoins at the live edge with the pre-roll's chunks
//! it has not had.

use std::collections::VecDeque;
use std::sync::Arc;

use auralis_core::music::MusicalContext;
use hyper::body::Bytes;
use tokio::sync::broadcast;

use super::{Chunk, Description, Ended, Next, Source};
use crate::station::Station;
use crate::wire::protocol::Refusal;
use crate::wire::Encoded;

/// One listener's subscription to a station.
#[derive(Debug)]
pub struct Subscription {
    station: Arc<Station>,
    /// Chunks to hand out before the live ones (the pre-roll).
    queued: VecDeque<Arc<Encoded>>,
    /// The live chunks; `None` while paused.
    live: Option<broadcast::Receiver<Arc<Encoded>>>,
    /// The newest chunk handed out.
    last: Option<u64>,
}

impl Subscription {
    /// Joins `station` at its live edge, with the pre-roll; `paused`
    /// joins only when resumed.
    pub fn new(station: Arc<Station>, paused: bool) -> Self {
        let mut s = Self {
            station,
            queued: VecDeque::new(),
            live: None,
            last: None,
        };
        if !paused {
            s.join();
        }
        s
    }

    /// Subscribes to the live chunks, with the pre-roll first.
    fn join(&mut self) {
        let (preroll, live) = self.station.subscribe();
        self.queued = preroll.into();
        self.live = Some(live);
    }

    /// Whether `c` comes after every chunk handed out so far.
    fn is_new(&self, c: &Encoded) -> bool {
        self.last.is_none_or(|l| c.seq > l)
    }

    fn hand_out(&mut self, c: Arc<Encoded>) -> Next {
        self.last = Some(c.seq);
        Next::Chunk {
            chunk: Chunk::Shared(c),
            before: Vec::new(),
            recovered: false,
        }
    }
}

impl Source for Subscription {
    fn describe(&self) -> Description<'_> {
        Description {
            seed: self.station.seed(),
            sample_rate: crate::station::RATE,
            context: self.station.context(),
            station: Some(&self.station.name),
        }
    }

    fn preamble(&self) -> Option<Bytes> {
        Some(self.station.ogg_headers())
    }

    async fn next(&mut self) -> Next {
        while let Some(c) = self.queued.pop_front() {
            if self.is_new(&c) {
                return self.hand_out(c);
            }
        }
        let Some(live) = &mut self.live else {
            // Paused: nothing until resumed (the transport waits on the
            // listener meanwhile).
            return std::future::pending().await;
        };
        loop {
            match live.recv().await {
                Ok(c) if self.last.is_some_and(|l| c.seq <= l) => continue,
                Ok(c) => return self.hand_out(c),
                Err(broadcast::error::RecvError::Lagged(_)) => return Next::End(Ended::TooSlow),
                Err(broadcast::error::RecvError::Closed) => return Next::End(Ended::Stopped),
            }
        }
    }

    fn pause(&mut self) -> bool {
        if self.live.is_none() {
            return false;
        }
        self.live = None;
        self.queued.clear();
        true
    }

    fn resume(&mut self) -> bool {
        if self.live.is_some() {
            return false;
        }
        self.join();
        true
    }

    fn paused(&self) -> bool {
        self.live.is_none()
    }

    fn context(&self) -> MusicalContext {
        self.station.context()
    }

    fn set_context(&mut self, _: MusicalContext) -> Result<(), Refusal> {
        Err(Refusal {
            code: "STATION_READ_ONLY",
            message:
                "this is a station: everyone hears the same music, and only its operator changes it"
                    .into(),
        })
    }

    fn depth(&self) -> usize {
        self.queued.len()
    }

    fn measures_latency(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::station::{StationSpec, PREROLL};
    use auralis_core::synth::SoundFont;

    async fn seq(s: &mut Subscription) -> u64 {
        match s.next().await {
            Next::Chunk { chunk, .. } => chunk.seq,
            other => panic!("no chunk: {other:?}"),
        }
    }

    #[tokio::test]
    async fn no_chunk_is_handed_out_twice_across_pauses_and_resumes() {
        let spec = StationSpec::parse_flag("t=sleep:5").unwrap();
        let font = SoundFont::parse(auralis_core::bank::DEFAULT_SF2).unwrap();
        let station = Station::start(&spec, font).unwrap();
        // Let the pre-roll fill.
        while station.chunks.load(std::sync::atomic::Ordering::Relaxed) < PREROLL as u64 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let mut s = Subscription::new(Arc::clone(&station), false);
        assert!(!s.resume(), "resume while playing changes nothing");
        assert_eq!(s.depth(), PREROLL, "it starts with the pre-roll");
        let mut seen = Vec::new();
        for round in 0..3 {
            for _ in 0..(PREROLL + 2) {
                seen.push(seq(&mut s).await);
            }
            // A resume while playing, then a short pause: the pre-roll
            // after it holds chunks already had.
            assert!(!s.resume());
            assert!(s.pause() && s.paused() && !s.pause());
            if round == 1 {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            }
            assert!(s.resume() && !s.paused());
        }
        assert!(
            seen.windows(2).all(|w| w[1] > w[0]),
            "every seq after the one before: {seen:?}"
        );
        station.stop();
    }

    #[tokio::test]
    async fn a_station_takes_no_parameters_from_a_listener() {
        let spec = StationSpec::parse_flag("t=focus:5").unwrap();
        let font = SoundFont::parse(auralis_core::bank::DEFAULT_SF2).unwrap();
        let station = Station::start(&spec, font).unwrap();
        let mut s = Subscription::new(Arc::clone(&station), true);
        assert!(s.paused(), "joined paused");
        let refusal = s.set_context(MusicalContext::DEFAULT).unwrap_err();
        assert_eq!(refusal.code, "STATION_READ_ONLY");
        assert_eq!(s.describe().station, Some("t"));
        station.stop();
    }
}
