//! Writers: Secondary Capture, PNG/JPEG encoders, thumbnails, letterbox on real images.

use carina_imaging::{
    DeidConfig, Format, GrayImage, Limits, Window, decode, deidentify_dicom, encode_jpeg8,
    encode_png8, encode_png16, letterbox, render_window, thumbnail, to_secondary_capture,
    to_u8_windowed, to_unit_f32,
};

use crate::common::read_sample;

#[test]
fn secondary_capture_round_trips_8_and_15_bit() {
    for name in [
        "png/00000001_000.png",
        "dicom/RG1_UNCR.dcm",
        "jpeg/person1946_bacteria_4874.jpeg",
    ] {
        let d = decode(&read_sample(name), &Limits::default()).unwrap();
        let dcm = to_secondary_capture(&d.image, &d.meta).unwrap();
        let back = decode(&dcm, &Limits::default()).unwrap();
        assert_eq!(back.format, Format::Dicom);
        assert_eq!(
            back.image, d.image,
            "{name}: pixels differ after the DICOM round trip"
        );
        assert_eq!(back.meta.photometric, "MONOCHROME2");
        assert_eq!(back.meta.bits_stored, d.image.bits);
        assert!(back.meta.window_from_file);
        let (a, b) = (back.meta.window, d.meta.window);
        assert!(
            (a.center - b.center).abs() < 0.01 && (a.width - b.width).abs() < 0.01,
            "{name}: {a:?} vs {b:?}"
        );
        assert_eq!(back.meta.pixel_spacing, d.meta.pixel_spacing, "{name}");
        assert_eq!(
            back.meta.transfer_syntax_uid.as_deref(),
            Some("1.2.840.10008.1.2.1")
        );
        assert!(back.meta.deidentified);
        // Same pixels → same file; a de-identified DICOM's pseudonyms pass through.
        assert!(dcm == to_secondary_capture(&d.image, &d.meta).unwrap());
    }
    let src = read_sample("dicom/siim_cr_jpeg_baseline.dcm");
    let deid = deidentify_dicom(&src, &DeidConfig::new(b"k".to_vec())).unwrap();
    let d = decode(&deid.bytes, &Limits::default()).unwrap();
    let back = decode(
        &to_secondary_capture(&d.image, &d.meta).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        back.meta.patient_pseudonym.as_deref(),
        Some(deid.patient_pseudonym.as_str())
    );
    assert_eq!(
        back.meta.study_pseudonym.as_deref(),
        Some(deid.study_uid.as_str())
    );
}

#[test]
fn png16_round_trips() {
    let d = decode(&read_sample("dicom/RG1_J2KR.dcm"), &Limits::default()).unwrap();
    let png = encode_png16(&d.image).unwrap();
    let back = decode(&png, &Limits::default()).unwrap();
    assert_eq!(back.format, Format::Png);
    assert_eq!(back.image.bits, 16);
    assert!(back.image.data == d.image.data, "16-bit values changed");
    // A 16-bit PNG gets a window from its pixels, not the full 16-bit range.
    assert!(back.meta.window.width < 40_000.0, "{:?}", back.meta.window);
}

#[test]
fn png8_and_jpeg8_encode_what_was_rendered() {
    let d = decode(
        &read_sample("dicom/siim_cr_monochrome1.dcm"),
        &Limits::default(),
    )
    .unwrap();
    let gray = to_u8_windowed(&d.image, d.meta.window);
    let png = encode_png8(d.image.width, d.image.height, &gray).unwrap();
    let back = decode(&png, &Limits::default()).unwrap();
    assert!(
        back.image
            .data
            .iter()
            .zip(&gray)
            .all(|(&a, &b)| a == u16::from(b))
    );
    let jpg = encode_jpeg8(d.image.width, d.image.height, &gray, 92).unwrap();
    let back = decode(&jpg, &Limits::default()).unwrap();
    let mad: f64 = back
        .image
        .data
        .iter()
        .zip(&gray)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
        .sum::<f64>()
        / gray.len() as f64;
    assert!(mad < 3.0, "JPEG q92 mean abs error {mad}");
    assert!(encode_png8(10, 10, &gray[..99]).is_err());
    assert!(encode_jpeg8(1, 1, &[0], 0).is_err());
}

#[test]
fn thumbnails_fit_and_keep_aspect() {
    let d = decode(&read_sample("dicom/RG1_J2KI.dcm"), &Limits::default()).unwrap();
    let png = thumbnail(&d.image, d.meta.window, 256).unwrap();
    let t = decode(&png, &Limits::default()).unwrap();
    // 1841×1955 → 241×256
    assert_eq!((t.image.width, t.image.height), (241, 256));
    if let Ok(dir) = std::env::var("CARINA_IMAGING_CHECK_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/thumbnail_RG1_J2KI.png"), &png).unwrap();
    }
    // Small images are not enlarged.
    let small = GrayImage::new(10, 5, 8, vec![100; 50]).unwrap();
    let t = decode(
        &thumbnail(&small, Window::full_range(8), 256).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((t.image.width, t.image.height), (10, 5));
    assert!(thumbnail(&small, Window::full_range(8), 0).is_err());
}

#[test]
fn letterbox_of_a_real_radiograph() {
    let d = decode(
        &read_sample("jpeg/NORMAL2-IM-1436-0001.jpeg"),
        &Limits::default(),
    )
    .unwrap();
    let (img, t) = letterbox(&d.image, 512).unwrap();
    assert_eq!((img.width, img.height), (512, 512));
    assert_eq!(t.scaled_size(), (512, 369)); // 1288×928
    // The padding below the image is black; the image area is not.
    assert!((370..512).all(|y| (0..512).all(|x| img.get(x, y) == 0)));
    let mean_img: f64 = (0..369)
        .flat_map(|y| (0..512).map(move |x| (x, y)))
        .map(|(x, y)| f64::from(img.get(x, y)))
        .sum::<f64>()
        / (369.0 * 512.0);
    let mean_src: f64 =
        d.image.data.iter().map(|&v| f64::from(v)).sum::<f64>() / d.image.data.len() as f64;
    assert!(
        (mean_img - mean_src).abs() < 2.0,
        "{mean_img} vs {mean_src}"
    );
    let plane = to_unit_f32(&img, d.meta.window);
    assert_eq!(plane.len(), 512 * 512);
    assert!(plane.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(render_window(&img, d.meta.window, false).len(), 512 * 512);
}
