//! # marmot-proto
//!
//! The wire encoding of node-to-node messages.
//!
//! Today a frame is one version byte followed by the postcard encoding of a
//! [`marmot_core::Envelope`]; the simulator's transport uses exactly this. The production
//! gRPC service (tonic/prost) will live here too.
//!
//! Compatibility rule: a node refuses frames of a newer major version with a clear error
//! instead of misreading them; new message kinds and fields are only ever added under a
//! new version number, and a node keeps decoding every version it has shipped.

use marmot_core::Envelope;

/// Current frame version.
pub const VERSION: u8 = 1;

/// Why a frame could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Zero-length frame.
    #[error("empty frame")]
    Empty,
    /// A version this node does not speak.
    #[error("unsupported frame version {0} (this node speaks up to {VERSION})")]
    Version(u8),
    /// The payload is not a valid message.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// Encode an envelope as one frame.
pub fn encode(env: &Envelope) -> Vec<u8> {
    let mut out = vec![VERSION];
    out.extend(postcard::to_stdvec(env).expect("envelopes always serialize"));
    out
}

/// Decode one frame.
pub fn decode(frame: &[u8]) -> Result<Envelope, DecodeError> {
    let (&v, body) = frame.split_first().ok_or(DecodeError::Empty)?;
    if v != VERSION {
        return Err(DecodeError::Version(v));
    }
    postcard::from_bytes(body).map_err(|e| DecodeError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use marmot_core::{Hlc, Message};

    fn env() -> Envelope {
        Envelope {
            from: 1,
            to: 2,
            clock: Hlc { wall: 5, logical: 1, node: 1 },
            msg: Message::Commit { txn_id: Hlc { wall: 4, logical: 0, node: 1 } },
        }
    }

    #[test]
    fn round_trip() {
        assert_eq!(decode(&encode(&env())).unwrap(), env());
    }

    #[test]
    fn refuses_garbage_and_unknown_versions() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(decode(&[9, 1, 2]), Err(DecodeError::Version(9)));
        let mut truncated = encode(&env());
        truncated.truncate(4);
        assert!(matches!(decode(&truncated), Err(DecodeError::Malformed(_))));
        assert!(matches!(decode(&[VERSION, 0xff, 0xff, 0xff]), Err(DecodeError::Malformed(_))));
    }
}
