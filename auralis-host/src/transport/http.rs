//! An endless HTTP body of Ogg Opus pages over any [`Source`]: the
//! source's preamble (a station's headers), then each chunk's page when it
//! is due. Every hand-over to the body is bounded by the send timeout; a
//! player that stops reading ends as too slow.

use std::convert::Infallible;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame};
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;

use super::End;
use crate::metrics::Metrics;
use crate::source::{Next, Source};
use crate::wire::protocol::AudioFormat;
use crate::wire::Payload;

/// Pages queued for the socket before a hand-over waits.
pub const BODY_QUEUE: usize = 8;

/// A body streaming what comes on `rx`, holding `held` until it ends (the
/// sender dropped: hyper then sends the chunked encoding's end).
pub fn body<H: Send + 'static>(
    rx: mpsc::Receiver<Bytes>,
    held: H,
) -> UnsyncBoxBody<Bytes, Infallible> {
    let body = futures_util::stream::unfold((rx, held), |(mut rx, held)| async move {
        let bytes = rx.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(bytes)), (rx, held)))
    });
    StreamBody::new(body).boxed_unsync()
}

/// Feeds `source`'s Ogg pages into `body` until the player leaves, falls
/// behind, the source ends or `shutdown` turns; says why it ended. The
/// caller keeps the sender: dropping it ends the body cleanly (the
/// chunked encoding's last chunk), which is right only for some ends
/// ([`ends_cleanly`]).
pub async fn run<S: Source>(
    mut source: S,
    body: &mpsc::Sender<Bytes>,
    send_timeout: Duration,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> End {
    let end = tokio::select! {
        biased;
        _ = shutdown.changed() => End::Shutdown,
        end = feed(&mut source, body, send_timeout, metrics) => end,
    };
    if end == End::TooSlow {
        metrics.slow_disconnects.fetch_add(1, Relaxed);
    }
    end
}

/// Whether a body that ended so should end cleanly. A player that fell
/// behind, or a stream that failed, must see its connection cut instead:
/// a clean end would tell it the stream is over, as at a shutdown.
pub fn ends_cleanly(end: End) -> bool {
    !matches!(end, End::TooSlow | End::RenderPanic | End::EngineFailed)
}

/// Cuts the connection behind `body` (`cut` closes it) when `end` says
/// so, before the body can end cleanly: the sender is held until the
/// connection has gone (at most a second).
pub async fn finish(end: End, body: mpsc::Sender<Bytes>, cut: impl FnOnce()) {
    if !ends_cleanly(end) {
        cut();
        let _ = tokio::time::timeout(Duration::from_secs(1), body.closed()).await;
    }
    drop(body);
}

/// The preamble, then each chunk's page when it is due, until something
/// ends the stream.
async fn feed<S: Source>(
    source: &mut S,
    body: &mpsc::Sender<Bytes>,
    send_timeout: Duration,
    metrics: &Metrics,
) -> End {
    if let Some(preamble) = source.preamble() {
        if let Err(end) = hand_over(body, preamble, send_timeout, metrics).await {
            return end;
        }
    }
    loop {
        let next = tokio::select! {
            biased;
            _ = body.closed() => return End::ClientGone,
            next = source.next() => next,
        };
        match next {
            Next::Chunk { chunk, .. } => {
                if let Some(Payload::Binary(page)) = chunk.audio(AudioFormat::Ogg) {
                    if let Err(end) = hand_over(body, page, send_timeout, metrics).await {
                        return end;
                    }
                    metrics.chunks_sent.fetch_add(1, Relaxed);
                }
            }
            // Counted by the source; a player's own buffer covers it.
            Next::Late => {}
            Next::End(ended) => return End::from(&ended),
        }
    }
}

/// Hands `bytes` to the body within `send_timeout`.
async fn hand_over(
    body: &mpsc::Sender<Bytes>,
    bytes: Bytes,
    send_timeout: Duration,
    metrics: &Metrics,
) -> Result<(), End> {
    let len = bytes.len() as u64;
    match timeout(send_timeout, body.send(bytes)).await {
        Ok(Ok(())) => {
            metrics.bytes_out.fetch_add(len, Relaxed);
            Ok(())
        }
        Ok(Err(_)) => Err(End::ClientGone),
        Err(_) => Err(End::TooSlow),
    }
}
