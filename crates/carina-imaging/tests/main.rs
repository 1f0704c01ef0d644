//! Integration tests of carina-imaging against real files and hostile input.

mod common;
mod deid;
mod deid_every;
mod deid_table;
mod encodings;
mod hostile;
mod jpeg_lossless;
#[cfg(feature = "jpegls")]
mod jpegls;
mod output;
mod samples;
mod values;
