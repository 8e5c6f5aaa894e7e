//! Audio buffers between the engine and a clock it does not own (a sound
//! card's callback, an I2S interrupt, a C program's audio thread): the
//! seed's `IRingBuffer` ([`Ring`], split into a [`Producer`] and a
//! [`Consumer`]) and `IBufferManager` ([`BufferManager`], [`Health`]).

mod manager;
mod ring;

pub use manager::{BufferManager, Health};
#[cfg(feature = "std")]
pub use ring::leak;
pub use ring::{Consumer, Monitor, Producer, Ring, RingState};

#[cfg(test)]
mod tests;
