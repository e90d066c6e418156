//! MySQL packet framing: a 3-byte little-endian length, a sequence id, the payload;
//! payloads of 16 MiB - 1 or more continue in following packets.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest payload of one physical packet.
pub const MAX_CHUNK: usize = 0xFF_FFFF;

/// Errors reading or writing packets.
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    /// The socket failed or closed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A packet longer than the configured limit.
    #[error("packet of {0} bytes exceeds max_allowed_packet")]
    TooLarge(usize),
    /// The client sent bytes that are not what the protocol says.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
}

/// Output buffer capacity kept between results.
const KEEP_BUFFER: usize = 64 << 10;

/// Reads and writes packets on one connection, tracking the sequence id.
pub struct PacketIo<S> {
    stream: S,
    /// Next sequence id to send.
    pub seq: u8,
    max_packet: usize,
    out: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PacketIo<S> {
    /// Wrap a stream.
    pub fn new(stream: S, max_packet: usize) -> Self {
        Self { stream, seq: 0, max_packet, out: Vec::with_capacity(16 * 1024) }
    }

    /// Read one logical packet (joining continuation packets). `None` at a clean EOF.
    pub async fn read(&mut self) -> Result<Option<Vec<u8>>, PacketError> {
        let mut payload = Vec::new();
        loop {
            let mut header = [0u8; 4];
            match self.stream.read_exact(&mut header).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && payload.is_empty() => return Ok(None),
                Err(e) => return Err(e.into()),
            }
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            self.seq = header[3].wrapping_add(1);
            if payload.len() + len > self.max_packet {
                return Err(PacketError::TooLarge(payload.len() + len));
            }
            let start = payload.len();
            payload.resize(start + len, 0);
            self.stream.read_exact(&mut payload[start..]).await?;
            if len < MAX_CHUNK {
                return Ok(Some(payload));
            }
        }
    }

    /// Queue one logical packet (splitting if needed) with the next sequence ids.
    pub fn queue(&mut self, payload: &[u8]) {
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_CHUNK);
            self.out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            self.out.push(self.seq);
            self.seq = self.seq.wrapping_add(1);
            self.out.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if n < MAX_CHUNK {
                break;
            }
        }
    }

    /// Bytes queued and not yet written.
    pub fn buffered(&self) -> usize {
        self.out.len()
    }

    /// Write everything queued.
    pub async fn flush(&mut self) -> Result<(), PacketError> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
            // A big result must not keep its buffer for the connection's lifetime.
            if self.out.capacity() > KEEP_BUFFER {
                self.out.shrink_to(KEEP_BUFFER);
            }
        }
        self.stream.flush().await?;
        Ok(())
    }

    /// Queue and flush one packet.
    pub async fn send(&mut self, payload: &[u8]) -> Result<(), PacketError> {
        self.queue(payload);
        self.flush().await
    }
}

/// Append a length-encoded integer.
pub fn put_lenenc_int(out: &mut Vec<u8>, v: u64) {
    if v < 251 {
        out.push(v as u8);
    } else if v < 1 << 16 {
        out.push(0xfc);
        out.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v < 1 << 24 {
        out.push(0xfd);
        out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
    } else {
        out.push(0xfe);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Append a length-encoded string.
pub fn put_lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A cursor over a received payload; every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Start reading `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let r = &self.buf[self.pos..];
        self.pos = self.buf.len();
        r
    }

    /// `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], PacketError> {
        if self.remaining() < n {
            return Err(PacketError::Malformed("truncated packet"));
        }
        let r = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(r)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, PacketError> {
        Ok(self.take(1)?[0])
    }

    /// Little-endian u16.
    pub fn u16(&mut self) -> Result<u16, PacketError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Little-endian u32.
    pub fn u32(&mut self) -> Result<u32, PacketError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Little-endian u64.
    pub fn u64(&mut self) -> Result<u64, PacketError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// A NUL-terminated string (or the rest, if no NUL).
    pub fn cstr(&mut self) -> &'a [u8] {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|b| *b == 0) {
            Some(i) => {
                self.pos += i + 1;
                &rest[..i]
            }
            None => self.rest(),
        }
    }

    /// A length-encoded integer.
    pub fn lenenc_int(&mut self) -> Result<u64, PacketError> {
        match self.u8()? {
            0xfc => Ok(self.u16()? as u64),
            0xfd => {
                let b = self.take(3)?;
                Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64)
            }
            0xfe => self.u64(),
            0xfb | 0xff => Err(PacketError::Malformed("invalid length-encoded integer")),
            v => Ok(v as u64),
        }
    }

    /// A length-encoded string.
    pub fn lenenc_str(&mut self) -> Result<&'a [u8], PacketError> {
        let n = self.lenenc_int()?;
        let n = usize::try_from(n).map_err(|_| PacketError::Malformed("length out of range"))?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_round_trip() {
        for v in [0u64, 250, 251, 65_535, 65_536, (1 << 24) - 1, 1 << 24, u64::MAX] {
            let mut b = Vec::new();
            put_lenenc_int(&mut b, v);
            assert_eq!(Reader::new(&b).lenenc_int().unwrap(), v);
        }
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut r = Reader::new(&[0xfe, 1, 2]);
        assert!(r.lenenc_int().is_err());
        let mut r = Reader::new(&[5, b'a']);
        assert!(r.lenenc_str().is_err());
        assert!(Reader::new(&[]).u32().is_err());
    }

    #[tokio::test]
    async fn large_payloads_split_and_join() {
        let (a, b) = tokio::io::duplex(64 << 20);
        let mut w = PacketIo::new(a, 64 << 20);
        let mut r = PacketIo::new(b, 64 << 20);
        let big = vec![7u8; MAX_CHUNK + 10];
        w.send(&big).await.unwrap();
        w.send(&[]).await.unwrap();
        assert_eq!(r.read().await.unwrap().unwrap(), big);
        assert_eq!(r.read().await.unwrap().unwrap(), Vec::<u8>::new());
    }
}
