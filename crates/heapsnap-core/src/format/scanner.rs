//! A small JSON scanner over large chunks, for the shapes a heap snapshot is made of.
//!
//! serde_json reading through `io::Read` pulls one byte at a time through a trait object,
//! which capped the parser at ~95 MB/s. This scanner owns 1 MiB chunks (filled by the caller's
//! [`Source`], possibly on another thread) and parses the big sections itself: arrays of
//! unsigned 32-bit integers (`nodes`, `edges`, `locations`) with a tight digit loop, and
//! arrays of strings (`strings`) with a bulk copy between escapes. Everything else is either
//! skipped with a validating skipper or captured as text for serde (`snapshot`).
//!
//! It accepts exactly the JSON serde_json accepts for these shapes (no leading zeros, no
//! trailing commas, paired `\u` surrogates, valid UTF-8 in strings, no raw control
//! characters; skipped values may nest to any depth, like serde's `IgnoredAny`: the skipper
//! keeps one byte per level, no recursion), and every error carries the byte offset in the
//! (decompressed) stream where it was noticed.

use std::io::{self, Read};

/// Size of one chunk of input.
pub(crate) const CHUNK: usize = 1 << 20;

/// A parse error: a message, or an I/O error from the source, at a byte offset.
pub(crate) enum ScanError {
    Corrupt(String, u64),
    Io(io::Error, u64),
}

pub(crate) type Result<T> = std::result::Result<T, ScanError>;

/// Takes the numbers of an array, in order, a batch at a time.
pub(crate) trait NumSink<T = u32> {
    /// On a bad number, its index in `nums` and what is wrong.
    fn take(&mut self, nums: &[T]) -> std::result::Result<(), (usize, String)>;
}

impl<T: Copy> NumSink<T> for Vec<T> {
    fn take(&mut self, nums: &[T]) -> std::result::Result<(), (usize, String)> {
        self.extend_from_slice(nums);
        Ok(())
    }
}

/// The unsigned integer types arrays are parsed into: `u32` where the format's values are
/// indices, `u64` where a value may pass 2^32 (node ids, self sizes, `to_node` offsets of
/// snapshots with more than 2^32 / node-field-count nodes).
pub(crate) trait Uint: Copy + Default {
    const MAX: u64;
    /// Digits the fast path may read without overflowing a `u64` accumulator or the type.
    const FAST_DIGITS: usize;
    const NAME: &'static str;
    fn from_u64(v: u64) -> Self;
}

impl Uint for u32 {
    const MAX: u64 = u32::MAX as u64;
    const FAST_DIGITS: usize = 10;
    const NAME: &'static str = "u32";
    #[inline(always)]
    fn from_u64(v: u64) -> Self {
        v as u32
    }
}

impl Uint for u64 {
    const MAX: u64 = u64::MAX;
    // 10^19 - 1 < 2^64: nineteen digits never overflow; a twentieth takes the slow path.
    const FAST_DIGITS: usize = 19;
    const NAME: &'static str = "u64";
    #[inline(always)]
    fn from_u64(v: u64) -> Self {
        v
    }
}

/// Where chunks come from.
pub(crate) trait Source {
    /// The next chunk (empty at the end of the stream). `old` is the previous chunk, handed
    /// back so its allocation can be reused.
    fn next_chunk(&mut self, old: Vec<u8>) -> io::Result<Vec<u8>>;

    /// Bytes the scanner consumed while echoing ([`Scanner::set_echo`]), in stream order.
    fn echo(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

impl<S: Source + ?Sized> Source for &mut S {
    fn next_chunk(&mut self, old: Vec<u8>) -> io::Result<Vec<u8>> {
        (**self).next_chunk(old)
    }

    fn echo(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).echo(bytes)
    }
}

/// Fills `buf` (cleared first) with up to `CHUNK` bytes from `r`; fewer only at the end.
pub(crate) fn fill_chunk(r: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    buf.resize(CHUNK, 0);
    let mut filled = 0;
    while filled < CHUNK {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(filled);
                return Err(e);
            }
        }
    }
    buf.truncate(filled);
    Ok(())
}

/// Reads chunks from a reader on the calling thread.
pub(crate) struct ReadSource<R>(pub R);

impl<R: Read> Source for ReadSource<R> {
    fn next_chunk(&mut self, mut old: Vec<u8>) -> io::Result<Vec<u8>> {
        fill_chunk(&mut self.0, &mut old)?;
        Ok(old)
    }
}

/// Hands over a byte slice in chunks of a fixed size, so tests can put every token across a
/// chunk boundary.
#[cfg(test)]
pub(crate) struct Pieces<'a>(&'a [u8], usize);

#[cfg(test)]
impl<'a> Pieces<'a> {
    pub fn new(bytes: &'a [u8], chunk: usize) -> Self {
        Pieces(bytes, chunk.max(1))
    }
}

#[cfg(test)]
impl Source for Pieces<'_> {
    fn next_chunk(&mut self, mut old: Vec<u8>) -> io::Result<Vec<u8>> {
        let n = self.1.min(self.0.len());
        old.clear();
        old.extend_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(old)
    }
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

pub(crate) struct Scanner<S> {
    src: S,
    buf: Vec<u8>,
    pos: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// When recording, the bytes consumed since `rec_from` in earlier chunks go here.
    rec: Option<Vec<u8>>,
    rec_from: usize,
    /// When echoing, the bytes consumed since `echo_from` go to the source's `echo`.
    echo: bool,
    echo_from: usize,
}

impl<S: Source> Scanner<S> {
    pub fn new(src: S) -> Self {
        Scanner { src, buf: Vec::new(), pos: 0, base: 0, eof: false, rec: None, rec_from: 0, echo: false, echo_from: 0 }
    }

    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub fn corrupt<T>(&self, msg: impl Into<String>) -> Result<T> {
        Err(ScanError::Corrupt(msg.into(), self.offset()))
    }

    fn truncated<T>(&self, what: &str) -> Result<T> {
        self.corrupt(format!("truncated: EOF while parsing {what}"))
    }

    /// Loads the next chunk once the current one is used up. Returns false at the end.
    #[cold]
    fn refill(&mut self) -> Result<bool> {
        debug_assert!(self.pos >= self.buf.len());
        if self.eof {
            return Ok(false);
        }
        if let Some(rec) = &mut self.rec {
            rec.extend_from_slice(&self.buf[self.rec_from..]);
            self.rec_from = 0;
        }
        if self.echo {
            self.src.echo(&self.buf[self.echo_from..]).map_err(|e| ScanError::Io(e, self.offset()))?;
            self.echo_from = 0;
        }
        self.base += self.buf.len() as u64;
        self.pos = 0;
        let old = std::mem::take(&mut self.buf);
        match self.src.next_chunk(old) {
            Ok(b) => self.buf = b,
            Err(e) => return Err(ScanError::Io(e, self.base)),
        }
        if self.buf.is_empty() {
            self.eof = true;
            return Ok(false);
        }
        Ok(true)
    }

    /// Starts or stops echoing: while on, every byte consumed is handed to the source's
    /// [`Source::echo`] (a chunk at a time, and what is pending when echoing stops), so a
    /// filter can pass most of its input through unchanged and write its own text in between.
    pub fn set_echo(&mut self, on: bool) -> Result<()> {
        if self.echo && self.echo_from < self.pos {
            let at = self.offset();
            self.src.echo(&self.buf[self.echo_from..self.pos]).map_err(|e| ScanError::Io(e, at))?;
        }
        self.echo = on;
        self.echo_from = self.pos;
        Ok(())
    }

    /// The source, e.g. to write between echoed runs.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.src
    }

    #[inline]
    pub fn peek(&mut self) -> Result<Option<u8>> {
        if self.pos < self.buf.len() {
            return Ok(Some(self.buf[self.pos]));
        }
        if self.refill()? {
            Ok(Some(self.buf[0]))
        } else {
            Ok(None)
        }
    }

    #[inline]
    fn next_byte(&mut self, what: &str) -> Result<u8> {
        match self.peek()? {
            Some(b) => {
                self.pos += 1;
                Ok(b)
            }
            None => self.truncated(what),
        }
    }

    #[inline]
    pub fn skip_ws(&mut self) -> Result<()> {
        loop {
            while self.pos < self.buf.len() {
                if !is_ws(self.buf[self.pos]) {
                    return Ok(());
                }
                self.pos += 1;
            }
            if !self.refill()? {
                return Ok(());
            }
        }
    }

    /// Skips whitespace and returns the next byte without consuming it (`None` at the end).
    pub fn peek_token(&mut self) -> Result<Option<u8>> {
        self.skip_ws()?;
        self.peek()
    }

    /// Skips whitespace, then consumes `c` or fails with "expected `what`".
    pub fn expect(&mut self, c: u8, what: &str) -> Result<()> {
        match self.peek_token()? {
            Some(b) if b == c => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => self.corrupt(format!("expected {what}, found {}", describe(b))),
            None => self.truncated(what),
        }
    }

    /// Whole remaining input is whitespace.
    pub fn at_end(&mut self) -> Result<bool> {
        Ok(self.peek_token()?.is_none())
    }

    /// Consumes the rest of a string whose opening quote was consumed. With `out`, appends
    /// the unescaped bytes (and validates surrogate pairs, like serde_json does for `str`);
    /// without, only validates escapes and control characters (like serde's `IgnoredAny`).
    pub fn string_body(&mut self, out: Option<&mut Vec<u8>>) -> Result<()> {
        self.string_body_counted(out, None)
    }

    /// Consumes the rest of a string like `string_body(None)` and returns its length in
    /// UTF-16 code units (JS's `.length`): an escape is one unit (a surrogate pair is two
    /// escapes), a raw character one, two above U+FFFF.
    pub fn string_units(&mut self) -> Result<u64> {
        let mut units = 0;
        self.string_body_counted(None, Some(&mut units))?;
        Ok(units)
    }

    fn string_body_counted(&mut self, mut out: Option<&mut Vec<u8>>, mut units: Option<&mut u64>) -> Result<()> {
        loop {
            let rest = &self.buf[self.pos..];
            let i = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            match i {
                None => {
                    if let Some(o) = out.as_deref_mut() {
                        o.extend_from_slice(rest);
                    }
                    if let Some(u) = units.as_deref_mut() {
                        *u += utf16_units(rest);
                    }
                    self.pos = self.buf.len();
                    if !self.refill()? {
                        return self.truncated("a string");
                    }
                }
                Some(i) => {
                    if let Some(o) = out.as_deref_mut() {
                        o.extend_from_slice(&rest[..i]);
                    }
                    if let Some(u) = units.as_deref_mut() {
                        *u += utf16_units(&rest[..i]);
                    }
                    self.pos += i;
                    let c = self.buf[self.pos];
                    match c {
                        b'"' => {
                            self.pos += 1;
                            return Ok(());
                        }
                        b'\\' => {
                            self.pos += 1;
                            self.escape(out.as_deref_mut())?;
                            if let Some(u) = units.as_deref_mut() {
                                *u += 1;
                            }
                        }
                        _ => return self.corrupt("control character (\\u0000-\\u001F) found while parsing a string"),
                    }
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let mut n: u16 = 0;
        for _ in 0..4 {
            let b = self.next_byte("a string")?;
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => {
                    self.pos -= 1;
                    return self.corrupt("invalid escape");
                }
            };
            n = (n << 4) | d as u16;
        }
        Ok(n)
    }

    fn escape(&mut self, out: Option<&mut Vec<u8>>) -> Result<()> {
        let c = self.next_byte("a string")?;
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let n = self.hex4()?;
                let Some(out) = out else { return Ok(()) };
                let cp: u32 = match n {
                    0xDC00..=0xDFFF => return self.corrupt("lone leading surrogate in hex escape"),
                    0xD800..=0xDBFF => {
                        if self.next_byte("a string")? != b'\\' || self.next_byte("a string")? != b'u' {
                            return self.corrupt("unexpected end of hex escape");
                        }
                        let n2 = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&n2) {
                            return self.corrupt("lone leading surrogate in hex escape");
                        }
                        0x10000 + (((n as u32) - 0xD800) << 10) + ((n2 as u32) - 0xDC00)
                    }
                    _ => n as u32,
                };
                let ch = char::from_u32(cp).expect("surrogates are excluded");
                let mut tmp = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                return Ok(());
            }
            _ => {
                self.pos -= 1;
                return self.corrupt("invalid escape");
            }
        };
        if let Some(out) = out {
            out.push(byte);
        }
        Ok(())
    }

    /// Parses a string value (after whitespace) into `out` (cleared first) as UTF-8.
    pub fn string(&mut self, out: &mut Vec<u8>, what: &str) -> Result<()> {
        self.expect(b'"', what)?;
        out.clear();
        let start = self.offset();
        self.string_body(Some(out))?;
        if std::str::from_utf8(out).is_err() {
            return Err(ScanError::Corrupt("invalid unicode code point".into(), start));
        }
        Ok(())
    }

    /// Slow path for one unsigned integer of type `T` (at the current position, no
    /// whitespace).
    fn slow_uint<T: Uint>(&mut self) -> Result<T> {
        let first = match self.peek()? {
            None => return self.truncated("a number"),
            Some(b) => b,
        };
        if !first.is_ascii_digit() {
            if first == b'-' {
                return self.corrupt(format!("invalid value: negative number, expected {}", T::NAME));
            }
            return self.corrupt(format!("expected an unsigned integer ({}), found {}", T::NAME, describe(first)));
        }
        let mut v: u64 = 0;
        let mut digits = 0;
        while let Some(b) = self.peek()? {
            if !b.is_ascii_digit() {
                if matches!(b, b'.' | b'e' | b'E') {
                    return self.corrupt(format!("invalid type: floating point number, expected {}", T::NAME));
                }
                break;
            }
            if digits == 1 && first == b'0' {
                return self.corrupt("invalid number: leading zero");
            }
            let next = v.checked_mul(10).and_then(|x| x.checked_add((b - b'0') as u64));
            v = match next {
                Some(x) if x <= T::MAX => x,
                _ => return self.corrupt(format!("invalid value: number out of range, expected {}", T::NAME)),
            };
            digits += 1;
            self.pos += 1;
        }
        Ok(T::from_u64(v))
    }

    /// Parses an array of unsigned 32-bit integers (see [`Scanner::uint_array`]).
    pub fn u32_array(&mut self, sink: &mut impl NumSink<u32>) -> Result<()> {
        self.uint_array::<u32>(sink)
    }

    /// Parses an array of unsigned integers of type `T` (after whitespace), handing them to
    /// `sink` in batches. An error from `sink` is reported at the offending number's offset;
    /// a batch is always handed over before a syntax error is looked at, so errors come in
    /// stream order.
    #[inline(never)]
    pub fn uint_array<T: Uint>(&mut self, sink: &mut impl NumSink<T>) -> Result<()> {
        const BATCH: usize = 4096;
        let mut nums = [T::default(); BATCH];
        // Offsets of the numbers in the current chunk (chunks are at most CHUNK bytes).
        let mut offs = [0u32; BATCH];
        self.expect(b'[', "an array of unsigned 32-bit integers")?;
        if self.peek_token()? == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            // Fast path: whole numbers and separators inside the current chunk.
            let mut k = 0;
            let mut closed = false;
            {
                let buf = &self.buf[..];
                let len = buf.len();
                let limit = len.saturating_sub(32);
                let mut p = self.pos;
                while p < limit && k < BATCH {
                    let start = p;
                    let mut v: u64 = 0;
                    let mut q = p;
                    while q < start + T::FAST_DIGITS && buf[q].is_ascii_digit() {
                        v = v * 10 + (buf[q] - b'0') as u64;
                        q += 1;
                    }
                    if q == start || buf[q].is_ascii_digit() || v > T::MAX || (buf[start] == b'0' && q - start > 1)
                    {
                        break; // the slow path reports it
                    }
                    while q < len && is_ws(buf[q]) {
                        q += 1;
                    }
                    if q >= len {
                        break;
                    }
                    let sep = buf[q];
                    if sep != b',' && sep != b']' {
                        break;
                    }
                    nums[k] = T::from_u64(v);
                    offs[k] = start as u32;
                    k += 1;
                    q += 1;
                    if sep == b']' {
                        p = q;
                        closed = true;
                        break;
                    }
                    while q < len && is_ws(buf[q]) {
                        q += 1;
                    }
                    p = q;
                }
                self.pos = p;
            }
            if k > 0 {
                if let Err((i, m)) = sink.take(&nums[..k]) {
                    return Err(ScanError::Corrupt(m, self.base + offs[i] as u64));
                }
            }
            if closed {
                return Ok(());
            }
            if k == BATCH && self.pos < self.buf.len().saturating_sub(32) {
                continue;
            }
            // Slow path: one element, across chunk boundaries.
            self.skip_ws()?;
            let at = self.offset();
            let v = self.slow_uint::<T>()?;
            if let Err((_, m)) = sink.take(&[v]) {
                return Err(ScanError::Corrupt(m, at));
            }
            match self.peek_token()? {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws()?;
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b) => return self.corrupt(format!("expected `,` or `]`, found {}", describe(b))),
                None => return self.truncated("an array"),
            }
        }
    }

    /// Parses an array of strings (after whitespace), calling `sink` with each.
    pub fn string_array(&mut self, mut sink: impl FnMut(&str)) -> Result<()> {
        self.expect(b'[', "an array of strings")?;
        if self.peek_token()? == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut scratch = Vec::new();
        loop {
            self.string(&mut scratch, "a string")?;
            sink(std::str::from_utf8(&scratch).expect("validated"));
            match self.peek_token()? {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b) => return self.corrupt(format!("expected `,` or `]`, found {}", describe(b))),
                None => return self.truncated("an array"),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        for &w in word {
            let b = self.next_byte("a value")?;
            if b != w {
                self.pos -= 1;
                return self.corrupt("expected value");
            }
        }
        Ok(())
    }

    fn digits(&mut self) -> Result<usize> {
        let mut n = 0;
        while let Some(b) = self.peek()? {
            if !b.is_ascii_digit() {
                break;
            }
            self.pos += 1;
            n += 1;
        }
        Ok(n)
    }

    /// Any JSON number, validated like serde_json does.
    fn skip_number(&mut self) -> Result<()> {
        if self.peek()? == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.peek()?, Some(b'0'..=b'9')) {
                    return self.corrupt("invalid number");
                }
            }
            Some(b'1'..=b'9') => {
                self.digits()?;
            }
            Some(_) => return self.corrupt("invalid number"),
            None => return self.truncated("a number"),
        }
        if self.peek()? == Some(b'.') {
            self.pos += 1;
            if self.digits()? == 0 {
                return match self.peek()? {
                    None => self.truncated("a number"),
                    Some(_) => self.corrupt("invalid number"),
                };
            }
        }
        if matches!(self.peek()?, Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek()?, Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits()? == 0 {
                return match self.peek()? {
                    None => self.truncated("a number"),
                    Some(_) => self.corrupt("invalid number"),
                };
            }
        }
        Ok(())
    }

    /// Skips one JSON value (after whitespace), validating its syntax, iteratively (any depth).
    pub fn skip_value(&mut self) -> Result<()> {
        let mut stack: Vec<u8> = Vec::new();
        loop {
            // A value.
            let c = match self.peek_token()? {
                Some(c) => c,
                None => return self.truncated("a value"),
            };
            let mut opened = false;
            match c {
                b'{' | b'[' => {
                    self.pos += 1;
                    let close = if c == b'{' { b'}' } else { b']' };
                    if self.peek_token()? == Some(close) {
                        self.pos += 1;
                    } else {
                        stack.push(c);
                        opened = true;
                        if c == b'{' {
                            self.key()?;
                        }
                    }
                }
                b'"' => {
                    self.pos += 1;
                    self.string_body(None)?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.skip_number()?,
                _ => return self.corrupt(format!("expected value, found {}", describe(c))),
            }
            if opened {
                continue;
            }
            // After a value: close containers or move to the next element.
            loop {
                let Some(&top) = stack.last() else { return Ok(()) };
                let close = if top == b'{' { b'}' } else { b']' };
                match self.peek_token()? {
                    Some(b',') => {
                        self.pos += 1;
                        if top == b'{' {
                            self.key()?;
                        }
                        break;
                    }
                    Some(b) if b == close => {
                        self.pos += 1;
                        stack.pop();
                    }
                    Some(b) => return self.corrupt(format!("expected `,` or `{}`, found {}", close as char, describe(b))),
                    None => return self.truncated("a value"),
                }
            }
        }
    }

    /// An object key (skipped) and its colon.
    fn key(&mut self) -> Result<()> {
        self.expect(b'"', "a string key")?;
        self.string_body(None)?;
        self.expect(b':', "`:`")
    }

    /// The top-level object of a snapshot: `section` is called with each member's key, at its
    /// value (whitespace skipped), and must consume the value; after the object only
    /// whitespace may follow.
    pub fn sections(&mut self, mut section: impl FnMut(&mut Self, &[u8]) -> Result<()>) -> Result<()> {
        self.expect(b'{', "a heap snapshot object")?;
        if self.peek_token()? == Some(b'}') {
            self.expect(b'}', "`}`")?;
        } else {
            let mut key = Vec::new();
            loop {
                self.string(&mut key, "a section name")?;
                self.expect(b':', "`:`")?;
                self.skip_ws()?;
                section(self, &key)?;
                match self.peek_token()? {
                    Some(b',') => self.expect(b',', "`,`")?,
                    Some(b'}') => {
                        self.expect(b'}', "`}`")?;
                        break;
                    }
                    Some(_) => return self.corrupt("expected `,` or `}` after a section"),
                    None => return self.corrupt("truncated: EOF while parsing an object"),
                }
            }
        }
        if !self.at_end()? {
            return self.corrupt("trailing characters");
        }
        Ok(())
    }

    /// Skips one value (after whitespace) and returns its text.
    pub fn capture_value(&mut self) -> Result<Vec<u8>> {
        self.skip_ws()?;
        self.rec = Some(Vec::new());
        self.rec_from = self.pos;
        let r = self.skip_value();
        let mut rec = self.rec.take().unwrap_or_default();
        r?;
        rec.extend_from_slice(&self.buf[self.rec_from..self.pos]);
        Ok(rec)
    }
}

/// UTF-16 code units of raw UTF-8 text: one per character (lead or ASCII byte), one more
/// for a 4-byte sequence.
fn utf16_units(text: &[u8]) -> u64 {
    text.iter().map(|&b| (b & 0xC0 != 0x80) as u64 + (b >= 0xF0) as u64).sum()
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// Byte index in `text` of serde_json's 1-based (line, column) error position.
pub(crate) fn line_col_offset(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    (start + column.saturating_sub(1)).min(text.len())
}
