//! JPEG-LS (only with the `jpegls` feature): the uncompressed sample encoded
//! with CharLS must decode to the same pixels.

use carina_imaging::{Limits, decode};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::OpenFileOptions;
use dicom_pixeldata::Transcode;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::common::read_sample;

#[test]
fn jpeg_ls_lossless_round_trip() {
    let bytes = read_sample("dicom/RG1_UNCR.dcm");
    let mut obj = OpenFileOptions::new().from_reader(&bytes[128..]).unwrap();
    let ts = TransferSyntaxRegistry
        .get("1.2.840.10008.1.2.4.80")
        .unwrap();
    obj.transcode(ts).unwrap();
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    assert!(
        out.len() < bytes.len() * 3 / 4,
        "JPEG-LS should compress: {} bytes",
        out.len()
    );
    let expected = decode(&bytes, &Limits::default()).unwrap();
    let got = decode(&out, &Limits::default()).unwrap();
    assert!(
        got.meta
            .transfer_syntax
            .as_deref()
            .unwrap()
            .contains("JPEG-LS")
    );
    assert!(
        got.image == expected.image,
        "JPEG-LS lossless pixels differ"
    );
}
