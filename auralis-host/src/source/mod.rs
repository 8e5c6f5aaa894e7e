//! Where a listener's chunks come from: a [`Source`] hands out encoded
//! chunks in order, at the pace they are due, and takes the listener's
//! pause, resume and new parameters.
//!
//! Two kinds: a [`personal::Personal`] stream, rendered just in time for
//! one listener by the [`pool::RenderPool`], and a
//! [`station::Subscription`] to a station's broadcast. A transport (a
//! WebSocket session, an HTTP body) drives either one through this
//! interface and knows nothing else of where the audio comes from.

pub mod personal;
pub mod pool;
pub mod station;

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use auralis_core::music::MusicalContext;
use hyper::body::Bytes;

use crate::wire::protocol::Refusal;
use crate::wire::Encoded;

/// A chunk on its way to a listener: the listener's own, or a station's
/// shared by all its listeners.
#[derive(Debug)]
pub enum Chunk {
    /// Encoded for this listener alone.
    Own(Encoded),
    /// A station's chunk, encoded once for everyone.
    Shared(Arc<Encoded>),
}

impl Deref for Chunk {
    type Target = Encoded;

    fn deref(&self) -> &Encoded {
        match self {
            Chunk::Own(e) => e,
            Chunk::Shared(e) => e,
        }
    }
}

/// What a [`Source`] has next.
// Nearly every `Next` is a chunk: boxing it would cost an allocation per
// chunk to shrink the rare variants.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Next {
    /// A chunk, due now.
    Chunk {
        /// The chunk.
        chunk: Chunk,
        /// Messages to send before it (what chunks dropped during a pause
        /// announced: their `params` and `now_playing`).
        before: Vec<String>,
        /// It ends an underrun: the stream is back to normal.
        recovered: bool,
    },
    /// A chunk is due and not ready (an underrun, counted by the source).
    Late,
    /// The source has ended.
    End(Ended),
}

/// Why a source ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The engine could not be made, or encoding failed.
    Failed(String),
    /// Rendering the stream panicked.
    Panicked,
    /// The listener fell too far behind (it did not take chunks in time).
    TooSlow,
    /// The producer stopped (a station shut down).
    Stopped,
}

/// What a listener is told in `welcome`.
#[derive(Debug, Clone, Copy)]
pub struct Description<'a> {
    /// The composition's seed.
    pub seed: u64,
    /// Sample rate of the audio.
    pub sample_rate: u32,
    /// The parameters now.
    pub context: MusicalContext,
    /// The station's name, when it is one.
    pub station: Option<&'a str>,
}

/// A listener's supply of chunks. `next` is cancel-safe: a transport
/// selects on it beside the listener's messages, and a call dropped
/// before it finished loses no chunk.
pub trait Source: Send {
    /// What `welcome` says of this source.
    fn describe(&self) -> Description<'_>;

    /// Bytes that open an Ogg stream of this source, when its chunks do
    /// not carry them (a station's listener joins mid-stream).
    fn preamble(&self) -> Option<Bytes>;

    /// The next chunk when it is due, or why there is none.
    fn next(&mut self) -> impl Future<Output = Next> + Send;

    /// Stops delivering until [`Source::resume`]; `false` if already
    /// paused.
    fn pause(&mut self) -> bool;

    /// Goes on after a pause, a short lead ahead; `false` if not paused.
    fn resume(&mut self) -> bool;

    /// Whether it is paused.
    fn paused(&self) -> bool;

    /// The parameters a listener's `update_params` is read against.
    fn context(&self) -> MusicalContext;

    /// New parameters from the next phrase, or why they are refused.
    fn set_context(&mut self, ctx: MusicalContext) -> Result<(), Refusal>;

    /// Chunks rendered and waiting to be sent (the `status` message's
    /// `buffer_depth`).
    fn depth(&self) -> usize;

    /// Whether a listener's `report` measures this source's end-to-end
    /// latency (a station's pre-roll would only blur the figure).
    fn measures_latency(&self) -> bool;
}
