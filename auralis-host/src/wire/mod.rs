//! The wire: everything a listener receives, as bytes. The protocol's
//! messages and binary frame layouts ([`protocol`]), Opus and the Ogg
//! muxer ([`opus`]), and the [`Encoder`] that turns each rendered chunk
//! into the payloads its listeners asked for.
//!
//! The ground floor of the host: it imports nothing from the server, the
//! sources or the transports above it, so both producers (a personal
//! stream's render thread and a station's) encode through one path.

pub mod encoder;
pub mod opus;
pub mod protocol;

pub use encoder::{Encoded, Encoder, Forms, Payload};
