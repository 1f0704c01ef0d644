//! JPEG Lossless (process 14, selection value 1): no sample file uses it, so
//! the test encodes one from the uncompressed sample (ITU T.81 Annex H) and
//! checks that it decodes to the same pixels.

use carina_imaging::{Limits, decode};
use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;

use crate::common::read_sample;

struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, bits: u32) {
        for i in (0..bits).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                let byte = self.acc as u8;
                self.out.push(byte);
                if byte == 0xFF {
                    self.out.push(0x00); // byte stuffing
                }
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        while self.n != 0 {
            self.put(1, 1); // pad with ones
        }
        self.out
    }
}

/// A 16-bit precision lossless JPEG with predictor 1 (left neighbour) and one
/// Huffman table giving each difference category a 5-bit code.
fn encode_lossless(width: u16, height: u16, px: &[u16]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    // DHT: class 0, id 0; 17 codes of length 5 for categories 0..=16.
    out.extend_from_slice(&[0xFF, 0xC4, 0x00, 3 + 16 + 17, 0x00]);
    let mut counts = [0u8; 16];
    counts[4] = 17;
    out.extend_from_slice(&counts);
    out.extend(0u8..=16);
    // SOF3: precision 16, one component.
    out.extend_from_slice(&[0xFF, 0xC3, 0x00, 11, 16]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[1, 1, 0x11, 0]);
    // SOS: predictor 1, point transform 0.
    out.extend_from_slice(&[0xFF, 0xDA, 0x00, 8, 1, 1, 0x00, 1, 0, 0]);
    let mut bw = BitWriter {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    let (w, h) = (usize::from(width), usize::from(height));
    for y in 0..h {
        for x in 0..w {
            let pred: i32 = match (x, y) {
                (0, 0) => 1 << 15,
                (0, _) => i32::from(px[(y - 1) * w]),
                _ => i32::from(px[y * w + x - 1]),
            };
            // Differences are taken modulo 2^16 into -32767..=32768.
            let mut diff = (i32::from(px[y * w + x]) - pred).rem_euclid(1 << 16);
            if diff > 32768 {
                diff -= 1 << 16;
            }
            let ssss = 32 - diff.unsigned_abs().leading_zeros();
            bw.put(ssss, 5);
            if ssss > 0 && ssss < 16 {
                let bits = if diff > 0 {
                    diff
                } else {
                    diff + (1 << ssss) - 1
                };
                bw.put(bits as u32, ssss);
            }
        }
    }
    out.extend(bw.finish());
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn jpeg_lossless_decodes_to_the_uncompressed_pixels() {
    let bytes = read_sample("dicom/RG1_UNCR.dcm");
    let mut obj = OpenFileOptions::new().from_reader(&bytes[128..]).unwrap();
    let raw = obj
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap()
        .into_owned();
    let px: Vec<u16> = raw
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let mut frame = encode_lossless(1841, 1955, &px);
    if frame.len() % 2 == 1 {
        frame.push(0); // fragments have even length
    }
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(vec![], vec![frame])),
    ));
    obj.update_meta(|m| m.transfer_syntax = "1.2.840.10008.1.2.4.70".to_string());
    let mut jpeg = Vec::new();
    obj.write_all(&mut jpeg).unwrap();

    let expected = decode(&bytes, &Limits::default()).unwrap();
    let got = decode(&jpeg, &Limits::default()).unwrap();
    assert!(
        got.meta
            .transfer_syntax
            .as_deref()
            .unwrap()
            .contains("Lossless")
    );
    assert!(got.image == expected.image, "JPEG lossless pixels differ");
}
