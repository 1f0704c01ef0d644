//! The bytes the pre-scan walks: a buffer, or a deflated data set inflated
//! through a 64 KiB window and never kept whole (the inflation cap checked as
//! it goes); and the one full inflation, once the scan has measured it.

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use crate::ImagingError;

/// Inflate a deflated data set that [`super::prescan::scan`] has measured: exactly `len` bytes.
pub(super) fn inflate_dataset(deflated: &[u8], len: u64) -> Result<Vec<u8>, ImagingError> {
    let len = usize::try_from(len).map_err(|_| ImagingError::InflatedTooLarge { limit: len })?;
    let mut out = vec![0u8; len];
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let (mut read, mut written) = (0, 0);
    while written < len {
        let r = inflate(
            &mut state,
            &deflated[read..],
            &mut out[written..],
            MZFlush::None,
        );
        read += r.bytes_consumed;
        written += r.bytes_written;
        if r.bytes_written == 0 && r.bytes_consumed == 0 {
            break;
        }
    }
    if written != len {
        return Err(ImagingError::MalformedDicom(
            "the deflated data set could not be inflated again".into(),
        ));
    }
    Ok(out)
}

/// The bytes of a data set, delivered in order.
pub(super) trait Source {
    /// Bytes delivered so far: the position in the data set.
    fn pos(&self) -> u64;
    /// Hand the next `n` bytes to `f` in chunks; fewer only at the end of the data.
    fn visit(&mut self, n: u64, f: &mut dyn FnMut(&[u8])) -> Result<u64, ImagingError>;
    /// Bytes left, when known (a buffer knows, a stream does not).
    fn remaining(&self) -> Option<u64>;
    /// The position the data may not pass (the inflation cap), if any.
    fn cap(&self) -> Option<u64>;

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ImagingError> {
        let mut at = 0;
        self.visit(buf.len() as u64, &mut |chunk| {
            buf[at..at + chunk.len()].copy_from_slice(chunk);
            at += chunk.len();
        })?;
        Ok(at)
    }

    fn skip(&mut self, n: u64) -> Result<u64, ImagingError> {
        self.visit(n, &mut |_| {})
    }
}

pub(super) struct Slice<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: u64,
}

impl Source for Slice<'_> {
    fn pos(&self) -> u64 {
        self.pos
    }
    fn visit(&mut self, n: u64, f: &mut dyn FnMut(&[u8])) -> Result<u64, ImagingError> {
        let start = self.pos as usize;
        let take = n.min(self.data.len() as u64 - self.pos) as usize;
        if take > 0 {
            f(&self.data[start..start + take]);
        }
        self.pos += take as u64;
        Ok(take as u64)
    }
    fn remaining(&self) -> Option<u64> {
        Some(self.data.len() as u64 - self.pos)
    }
    fn cap(&self) -> Option<u64> {
        None
    }
}

/// A raw deflate stream inflated through a 64 KiB window, never kept whole.
pub(super) struct Inflater<'a> {
    input: &'a [u8],
    read: usize,
    state: Box<InflateState>,
    window: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes delivered.
    pos: u64,
    /// Bytes inflated (delivered or in the window).
    produced: u64,
    cap: u64,
    done: bool,
}

impl<'a> Inflater<'a> {
    pub(super) fn new(input: &'a [u8], cap: u64) -> Self {
        Self {
            input,
            read: 0,
            state: InflateState::new_boxed(DataFormat::Raw),
            window: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            pos: 0,
            produced: 0,
            cap,
            done: false,
        }
    }

    fn fill(&mut self) -> Result<(), ImagingError> {
        while self.start == self.end && !self.done {
            let r = inflate(
                &mut self.state,
                &self.input[self.read..],
                &mut self.window,
                MZFlush::None,
            );
            self.read += r.bytes_consumed;
            self.start = 0;
            self.end = r.bytes_written;
            self.produced += r.bytes_written as u64;
            if self.produced > self.cap {
                return Err(ImagingError::InflatedTooLarge { limit: self.cap });
            }
            match r.status {
                Ok(MZStatus::StreamEnd) => self.done = true,
                Ok(_) if r.bytes_written == 0 && r.bytes_consumed == 0 => self.done = true,
                Ok(_) => {}
                // No progress: the input ended before the stream did. What
                // was inflated is all there is.
                Err(MZError::Buf) => self.done = true,
                Err(_) => {
                    return Err(ImagingError::MalformedDicom(
                        "the deflated data set is corrupt".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Source for Inflater<'_> {
    fn pos(&self) -> u64 {
        self.pos
    }
    fn visit(&mut self, n: u64, f: &mut dyn FnMut(&[u8])) -> Result<u64, ImagingError> {
        let mut left = n;
        while left > 0 {
            self.fill()?;
            if self.start == self.end {
                break;
            }
            let take = left.min((self.end - self.start) as u64) as usize;
            f(&self.window[self.start..self.start + take]);
            self.start += take;
            self.pos += take as u64;
            left -= take as u64;
        }
        Ok(n - left)
    }
    fn remaining(&self) -> Option<u64> {
        None
    }
    fn cap(&self) -> Option<u64> {
        Some(self.cap)
    }
}
