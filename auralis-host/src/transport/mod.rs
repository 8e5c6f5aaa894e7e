//! How chunks reach a listener: a [`websocket`] session (the web player
//! and any WebSocket client) and an [`http`] body of Ogg pages (`/listen`,
//! `/station/NAME`, for any player), each written once over any
//! [`Source`](crate::source::Source): a personal stream or a station; and
//! the [`icecast`] source client, which pushes a station to a mount.

pub mod http;
pub mod icecast;
pub mod websocket;

use crate::source::Ended;

/// Why a listener's transport ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum End {
    /// The listener closed or the connection dropped.
    ClientGone,
    /// The server is shutting down.
    Shutdown,
    /// The listener could not keep up.
    TooSlow,
    /// The listener sent a frame over the size limit.
    Oversized,
    /// The engine could not be made, or encoding failed.
    EngineFailed,
    /// Rendering the stream panicked (closed with 1011).
    RenderPanic,
    /// The listener broke the WebSocket protocol (closed with 1002).
    ProtocolError,
    /// The listener sent text that is not UTF-8 (closed with 1007).
    InvalidText,
    /// The source stopped (a station shut down).
    SourceStopped,
}

impl From<&Ended> for End {
    fn from(e: &Ended) -> Self {
        match e {
            Ended::Failed(_) => End::EngineFailed,
            Ended::Panicked => End::RenderPanic,
            Ended::TooSlow => End::TooSlow,
            Ended::Stopped => End::SourceStopped,
        }
    }
}
