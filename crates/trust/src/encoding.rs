//! The one byte layout every signed thing uses (PROTOCOL.md, "Encoding"): big-endian fixed
//! integers, length-prefixed bytes and strings, count-prefixed lists. A reader refuses
//! anything left over, so one set of bytes decodes to one value only.

use crate::Refusal;
use uuid::Uuid;

/// Strings and byte fields longer than this are refused (a parameter value, a name).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Lists longer than this are refused (parameters, clients, revoked keys).
pub const MAX_LIST_ITEMS: usize = 100_000;

#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    pub fn new() -> Self {
        Writer(Vec::with_capacity(256))
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn fixed(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    pub fn uuid(&mut self, v: Uuid) -> &mut Self {
        self.fixed(v.as_bytes())
    }
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.fixed(v)
    }
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
}

pub struct Reader<'a> {
    rest: &'a [u8],
}

fn short(what: &str) -> Refusal {
    Refusal::Malformed(format!("the bytes end inside {what}"))
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Refusal> {
        if self.rest.len() < n {
            return Err(short(what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    pub fn fixed<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Refusal> {
        let b = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }
    pub fn u8(&mut self, what: &str) -> Result<u8, Refusal> {
        Ok(self.fixed::<1>(what)?[0])
    }
    pub fn u32(&mut self, what: &str) -> Result<u32, Refusal> {
        Ok(u32::from_be_bytes(self.fixed(what)?))
    }
    pub fn u64(&mut self, what: &str) -> Result<u64, Refusal> {
        Ok(u64::from_be_bytes(self.fixed(what)?))
    }
    pub fn i64(&mut self, what: &str) -> Result<i64, Refusal> {
        Ok(i64::from_be_bytes(self.fixed(what)?))
    }
    pub fn uuid(&mut self, what: &str) -> Result<Uuid, Refusal> {
        Ok(Uuid::from_bytes(self.fixed(what)?))
    }
    pub fn bytes(&mut self, what: &str) -> Result<&'a [u8], Refusal> {
        let n = self.u32(what)? as usize;
        if n > MAX_FIELD_BYTES {
            return Err(Refusal::Malformed(format!(
                "{what} is {n} bytes; at most {MAX_FIELD_BYTES} are taken"
            )));
        }
        self.take(n, what)
    }
    pub fn str(&mut self, what: &str) -> Result<String, Refusal> {
        let b = self.bytes(what)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| Refusal::Malformed(format!("{what} is not UTF-8")))
    }
    pub fn count(&mut self, what: &str) -> Result<usize, Refusal> {
        let n = self.u32(what)? as usize;
        if n > MAX_LIST_ITEMS {
            return Err(Refusal::Malformed(format!(
                "{what} has {n} items; at most {MAX_LIST_ITEMS} are taken"
            )));
        }
        Ok(n)
    }
    /// Every byte must have been read: trailing bytes would let two encodings mean one thing.
    pub fn finish(self, what: &str) -> Result<(), Refusal> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Malformed(format!(
                "{} bytes follow the end of the {what}",
                self.rest.len()
            )))
        }
    }
}
