//! Decoding the real radiographs in ../shared/data/samples.

use carina_imaging::{Format, GrayImage, Limits, decode, render_png};

use crate::common::{all_samples, read_sample};

/// Renderings for a human to look at, when CARINA_IMAGING_CHECK_DIR is set.
fn maybe_write(name: &str, png: &[u8]) {
    if let Ok(dir) = std::env::var("CARINA_IMAGING_CHECK_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{}.png", name.replace('/', "_")), png).unwrap();
    }
}

#[test]
fn every_sample_decodes_with_sensible_window() {
    let samples = all_samples();
    assert!(samples.len() >= 15, "{samples:?}");
    for name in samples {
        let bytes = read_sample(&name);
        let d = decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = if name.starts_with("dicom/") {
            Format::Dicom
        } else if name.starts_with("png/") {
            Format::Png
        } else {
            Format::Jpeg
        };
        assert_eq!(d.format, expected, "{name}");
        let img = &d.image;
        assert_eq!(img.data.len(), (img.width * img.height) as usize);
        assert!(img.data.iter().all(|&v| v <= img.max_value()), "{name}");
        let w = d.meta.window;
        assert!(w.width >= 1.0, "{name}: {w:?}");
        // The window must sit inside the value range and show contrast.
        assert!(
            w.center > 0.0 && w.center < f64::from(img.max_value()) + 1.0,
            "{name}: {w:?}"
        );
        let png = render_png(img, w, false).unwrap();
        let shown = carina_imaging::render_window(img, w, false);
        let mean = shown.iter().map(|&v| f64::from(v)).sum::<f64>() / shown.len() as f64;
        assert!(
            (40.0..215.0).contains(&mean),
            "{name}: mean display value {mean}"
        );
        maybe_write(&name, &png);
        eprintln!(
            "{name}: {}×{} bits {} {} window {:.1}/{:.1} from_file {} ts {:?}",
            img.width,
            img.height,
            img.bits,
            d.meta.photometric,
            w.center,
            w.width,
            d.meta.window_from_file,
            d.meta.transfer_syntax
        );
    }
}

fn dicom(name: &str) -> carina_imaging::Decoded {
    decode(&read_sample(&format!("dicom/{name}")), &Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn rg1_dimensions_and_encodings_agree() {
    let unc = dicom("RG1_UNCR.dcm");
    let j2kr = dicom("RG1_J2KR.dcm");
    let j2ki = dicom("RG1_J2KI.dcm");
    for d in [&unc, &j2kr, &j2ki] {
        assert_eq!((d.image.width, d.image.height), (1841, 1955));
        assert_eq!(d.image.bits, 15);
        assert_eq!(d.meta.photometric, "MONOCHROME1");
        assert_eq!(d.meta.modality.as_deref(), Some("CR"));
    }
    assert_eq!(
        unc.image, j2kr.image,
        "lossless JPEG 2000 must match exactly"
    );
    let mad = mean_abs_diff(&unc.image, &j2ki.image);
    eprintln!("RG1 lossy JPEG 2000 vs uncompressed: mean abs diff {mad:.2} of 32767");
    assert!(mad > 0.0 && mad < 100.0, "lossy J2K mean abs diff {mad}");
}

fn mean_abs_diff(a: &GrayImage, b: &GrayImage) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
        .sum::<f64>()
        / a.data.len() as f64
}

#[test]
fn rg1_monochrome1_is_inverted_lungs_dark() {
    // After inversion higher = brighter: the lungs (centre of each half,
    // upper-middle) must be darker than the spine/mediastinum in between.
    let d = dicom("RG1_UNCR.dcm");
    let img = &d.image;
    let shown = carina_imaging::render_window(img, d.meta.window, false);
    let mean_box = |x0: f64, y0: f64, x1: f64, y1: f64| {
        let (w, h) = (img.width as f64, img.height as f64);
        let mut s = 0.0;
        let mut n = 0.0;
        for y in (y0 * h) as usize..(y1 * h) as usize {
            for x in (x0 * w) as usize..(x1 * w) as usize {
                s += f64::from(shown[y * img.width as usize + x]);
                n += 1.0;
            }
        }
        s / n
    };
    let left_lung = mean_box(0.2, 0.3, 0.35, 0.5);
    let right_lung = mean_box(0.65, 0.3, 0.8, 0.5);
    let mediastinum = mean_box(0.45, 0.3, 0.55, 0.5);
    assert!(
        left_lung + 20.0 < mediastinum && right_lung + 20.0 < mediastinum,
        "lungs {left_lung:.0}/{right_lung:.0} vs mediastinum {mediastinum:.0}"
    );
}

#[test]
fn siim_monochrome1_relabelling_is_the_inverse() {
    let base = dicom("siim_cr_jpeg_baseline.dcm");
    let mono1 = dicom("siim_cr_monochrome1.dcm");
    assert_eq!((base.image.width, base.image.height), (1024, 1024));
    assert_eq!(base.image.bits, 8);
    assert_eq!(mono1.meta.photometric, "MONOCHROME1");
    assert_ne!(base.meta.photometric, "MONOCHROME1");
    assert_eq!(
        base.meta.transfer_syntax_uid.as_deref(),
        Some("1.2.840.10008.1.2.4.50")
    );
    for (a, b) in base.image.data.iter().zip(&mono1.image.data) {
        assert_eq!(a + b, 255);
    }
}

#[test]
fn probe_agrees_with_decode() {
    for name in all_samples() {
        let bytes = read_sample(&name);
        let p = carina_imaging::probe(&bytes, &Limits::default()).unwrap();
        let d = decode(&bytes, &Limits::default()).unwrap();
        assert_eq!(
            (p.format, p.width, p.height),
            (d.format, d.image.width, d.image.height),
            "{name}"
        );
    }
}
