//! Transfer syntaxes no sample file uses (RLE Lossless, Deflated Explicit VR):
//! the tests build them from the uncompressed sample and check that they
//! decode to the same pixels.

use carina_imaging::{Limits, decode};
use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;

use crate::common::read_sample;

/// PackBits: replicate runs of 3+ equal bytes, literal runs otherwise.
fn packbits(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let mut run = 1;
        while i + run < data.len() && run < 128 && data[i + run] == data[i] {
            run += 1;
        }
        if run >= 3 {
            out.push((257 - run) as u8);
            out.push(data[i]);
            i += run;
            continue;
        }
        let start = i;
        while i < data.len() && i - start < 128 {
            if i + 2 < data.len() && data[i] == data[i + 1] && data[i] == data[i + 2] {
                break;
            }
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&data[start..i]);
    }
    if out.len() % 2 == 1 {
        out.push(0x80); // no-op byte pads the segment to an even length
    }
    out
}

/// One RLE frame of 16-bit samples: segment 1 the high bytes, segment 2 the low.
fn rle_frame_16(samples: &[u8]) -> Vec<u8> {
    let hi: Vec<u8> = samples.chunks(2).map(|c| c[1]).collect();
    let lo: Vec<u8> = samples.chunks(2).map(|c| c[0]).collect();
    let (s1, s2) = (packbits(&hi), packbits(&lo));
    let mut header = [0u32; 16];
    header[0] = 2;
    header[1] = 64;
    header[2] = 64 + s1.len() as u32;
    let mut out: Vec<u8> = header.iter().flat_map(|v| v.to_le_bytes()).collect();
    out.extend(s1);
    out.extend(s2);
    out
}

#[test]
fn rle_lossless_decodes_to_the_uncompressed_pixels() {
    let bytes = read_sample("dicom/RG1_UNCR.dcm");
    let mut obj = OpenFileOptions::new().from_reader(&bytes[128..]).unwrap();
    let raw = obj
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap()
        .into_owned();
    assert_eq!(raw.len(), 1841 * 1955 * 2);
    let frame = rle_frame_16(&raw);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(vec![], vec![frame])),
    ));
    obj.update_meta(|m| m.transfer_syntax = "1.2.840.10008.1.2.5".to_string());
    let mut rle = Vec::new();
    obj.write_all(&mut rle).unwrap();
    assert!(rle.len() < bytes.len(), "RLE should compress this image");

    let expected = decode(&bytes, &Limits::default()).unwrap();
    let got = decode(&rle, &Limits::default()).unwrap();
    assert_eq!(got.meta.transfer_syntax.as_deref(), Some("RLE Lossless"));
    assert!(got.image == expected.image, "RLE pixels differ");
    assert_eq!(got.meta.window, expected.meta.window);
}

#[test]
fn deflated_explicit_vr_decodes() {
    // dicom-rs deflates the data set itself when the meta says so.
    let plain = read_sample("dicom/RG1_UNCR.dcm");
    let mut obj = OpenFileOptions::new().from_reader(&plain[128..]).unwrap();
    obj.update_meta(|m| m.transfer_syntax = "1.2.840.10008.1.2.1.99".to_string());
    let mut deflated = Vec::new();
    obj.write_all(&mut deflated).unwrap();
    // The size says nothing here: flate2's backend is chosen by feature
    // unification (zlib-rs in the whole workspace), and its fast level can
    // expand noisy 15-bit pixels slightly. Raw pixel bytes must not survive.
    let mid = plain.len() / 2;
    let needle = &plain[mid..mid + 64];
    assert!(
        !deflated.windows(needle.len()).any(|w| w == needle),
        "the data set was not deflated"
    );
    let got = decode(&deflated, &Limits::default()).unwrap();
    let expected = decode(&plain, &Limits::default()).unwrap();
    assert!(
        got.meta
            .transfer_syntax
            .as_deref()
            .unwrap()
            .contains("Deflate")
    );
    assert!(got.image == expected.image, "deflated pixels differ");
}
