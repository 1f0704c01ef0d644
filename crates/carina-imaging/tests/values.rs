//! The value mapping of DICOM pixels: signed data, high bits, rescale and
//! MONOCHROME1, on small files built in the test.

use carina_imaging::{Limits, decode};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

struct Spec<'a> {
    photometric: &'a str,
    allocated: u16,
    stored: u16,
    signed: bool,
    slope: &'a str,
    intercept: &'a str,
    window: (&'a str, &'a str),
    pixels: PrimitiveValue,
    width: u16,
}

fn dicom(s: Spec<'_>) -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    let mut put = |tag, vr, v: PrimitiveValue| {
        obj.put(DataElement::new(tag, vr, v));
    };
    put(
        tags::SOP_CLASS_UID,
        VR::UI,
        uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION.into(),
    );
    put(tags::SOP_INSTANCE_UID, VR::UI, "2.25.1234".into());
    put(tags::MODALITY, VR::CS, "DX".into());
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        s.photometric.into(),
    );
    put(tags::ROWS, VR::US, PrimitiveValue::from(1_u16));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(s.width));
    put(
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(s.allocated),
    );
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(s.stored));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(s.stored - 1));
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(u16::from(s.signed)),
    );
    put(tags::RESCALE_SLOPE, VR::DS, s.slope.into());
    put(tags::RESCALE_INTERCEPT, VR::DS, s.intercept.into());
    put(tags::WINDOW_CENTER, VR::DS, s.window.0.into());
    put(tags::WINDOW_WIDTH, VR::DS, s.window.1.into());
    put(tags::PIXEL_SPACING, VR::DS, "0.143\\0.15".into());
    let vr = if s.allocated == 8 { VR::OB } else { VR::OW };
    put(tags::PIXEL_DATA, vr, s.pixels);
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}

#[test]
fn signed_12_bit_with_rescale_maps_exactly() {
    let values: [i16; 5] = [-2048, -100, 0, 100, 2047];
    // Stored sign-extended to 16 bits: the bits above the high bit must be ignored.
    let raw: Vec<u16> = values.iter().map(|&v| v as u16).collect();
    let bytes = dicom(Spec {
        photometric: "MONOCHROME2",
        allocated: 16,
        stored: 12,
        signed: true,
        slope: "1",
        intercept: "-1024",
        window: ("-1024", "400"),
        pixels: PrimitiveValue::U16(raw.into()),
        width: 5,
    });
    let d = decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(d.image.bits, 12);
    assert_eq!(d.image.data, vec![0, 1948, 2048, 2148, 4095]);
    for (&data, &v) in d.image.data.iter().zip(&values) {
        let modality = f64::from(data) * d.meta.rescale_slope + d.meta.rescale_intercept;
        assert_eq!(modality, f64::from(v) - 1024.0);
    }
    assert_eq!(d.meta.window.center, 2048.0);
    assert_eq!(d.meta.window.width, 400.0);
    assert_eq!(d.meta.pixel_spacing, Some([0.143, 0.15]));
}

#[test]
fn monochrome1_with_slope_is_inverted_and_mapped() {
    let bytes = dicom(Spec {
        photometric: "MONOCHROME1",
        allocated: 8,
        stored: 8,
        signed: false,
        slope: "2",
        intercept: "5",
        window: ("105", "51"),
        pixels: PrimitiveValue::U8(vec![0, 10, 255, 0].into()),
        width: 4,
    });
    let d = decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(d.meta.photometric, "MONOCHROME1");
    // Inverted: stored 0 (white in MONOCHROME1) becomes the brightest value.
    assert_eq!(d.image.data, vec![255, 245, 0, 255]);
    for (&data, stored) in d.image.data.iter().zip([0.0, 10.0, 255.0, 0.0]) {
        let modality = f64::from(data) * d.meta.rescale_slope + d.meta.rescale_intercept;
        assert_eq!(modality, stored * 2.0 + 5.0);
    }
    // The linear window c=105, w=51 covers modality (79.5, 129.5], i.e. stored
    // (37.25, 62.25], i.e. data [192.75, 217.75): centre 205.25 + 0.5, width 25 + 1.
    let w = d.meta.window;
    assert!((w.center - 205.75).abs() < 1e-9, "{w:?}");
    assert!((w.width - 26.0).abs() < 1e-9, "{w:?}");
}
