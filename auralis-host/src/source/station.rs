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
