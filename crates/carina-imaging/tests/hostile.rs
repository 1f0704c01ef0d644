//! Bad input: every malformed, truncated, oversized or foreign file gets an
//! error, quickly, and never a panic.

use std::time::{Duration, Instant};

use carina_imaging::{ImagingError, Limits, decode, decode_cost};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{all_samples, read_sample};

#[test]
fn empty_and_garbage_are_refused() {
    let l = Limits::default();
    assert!(matches!(decode(b"", &l), Err(ImagingError::Empty)));
    assert!(matches!(
        decode(b"hello world", &l),
        Err(ImagingError::NotAnImage)
    ));
    assert!(matches!(
        decode(&[0u8; 4096], &l),
        Err(ImagingError::NotAnImage)
    ));
    // Right magic, nothing behind it.
    assert!(decode(b"\x89PNG\r\n\x1a\n", &l).is_err());
    assert!(decode(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16], &l).is_err());
    assert!(decode(b"DICM", &l).is_err());
    let mut preamble_only = vec![0u8; 128];
    preamble_only.extend_from_slice(b"DICM\x02\x00");
    assert!(decode(&preamble_only, &l).is_err());
}

/// A PNG header (IHDR) declaring `w × h` 8-bit gray pixels and nothing else.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    png_header_of(w, h, 8, 0)
}

/// A PNG header with a bit depth and colour type.
fn png_header_of(w: u32, h: u32, depth: u8, colour: u8) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(b"IHDR");
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    let crc = crc32(&ihdr);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn png_claiming_100000_squared_is_refused_before_allocation() {
    let start = Instant::now();
    let err = decode(&png_header(100_000, 100_000), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("100000×100000"), "{err}");
    let err = carina_imaging::probe(&png_header(100_000, 100_000), &Limits::default()).unwrap_err();
    assert!(matches!(err, ImagingError::TooManyPixels { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn jpeg_claiming_65535_squared_is_refused() {
    // SOI, a baseline frame header for 65535×65535 gray, then EOI.
    let mut jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    jpeg.extend_from_slice(&[0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9]);
    let start = Instant::now();
    let err = decode(&jpeg, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::TooManyPixels {
                width: 65535,
                height: 65535,
                ..
            }
        ),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn embedded_frame_larger_than_declared_is_refused() {
    // RG1_J2KR with its JPEG 2000 SIZ segment claiming 60000×60000 pixels:
    // the codec would allocate for that, so it must never be asked to.
    let mut bytes = read_sample("dicom/RG1_J2KR.dcm");
    let siz = bytes
        .windows(4)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])
        .unwrap()
        + 2;
    bytes[siz + 6..siz + 10].copy_from_slice(&60_000u32.to_be_bytes());
    bytes[siz + 10..siz + 14].copy_from_slice(&60_000u32.to_be_bytes());
    let start = Instant::now();
    let err = decode(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, ImagingError::CorruptPixelData(_)), "{err}");
    assert!(err.to_string().contains("60000×60000"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));

    // The same for a JPEG frame in the baseline sample.
    let mut bytes = read_sample("dicom/siim_cr_jpeg_baseline.dcm");
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bytes[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let err = decode(&bytes, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("65535×65535"), "{err}");
}

#[test]
fn limits_are_configurable() {
    let png = read_sample("png/00000001_000.png");
    let small = Limits {
        max_bytes: 1000,
        max_pixels: u64::MAX,
        ..Limits::default()
    };
    assert!(matches!(
        decode(&png, &small),
        Err(ImagingError::FileTooLarge { .. })
    ));
    let few_pixels = Limits {
        max_bytes: u64::MAX,
        max_pixels: 512 * 511,
        ..Limits::default()
    };
    assert!(matches!(
        decode(&png, &few_pixels),
        Err(ImagingError::TooManyPixels { .. })
    ));
    let dcm = read_sample("dicom/RG1_UNCR.dcm");
    assert!(matches!(
        decode(&dcm, &few_pixels),
        Err(ImagingError::TooManyPixels { .. })
    ));
}

#[test]
fn truncated_files_are_errors() {
    for name in all_samples() {
        let bytes = read_sample(&name);
        // (Cut just before the end, a JPEG 2000 or JPEG stream may still
        // decode: both tolerate a missing end marker. Half a file may not.)
        for cut in [bytes.len() / 2, 300, 133] {
            let r = decode(&bytes[..cut], &Limits::default());
            assert!(r.is_err(), "{name} cut at {cut} decoded");
        }
    }
}

/// The uncompressed sample relabelled with another transfer syntax UID.
fn relabelled(ts: &str) -> Vec<u8> {
    let bytes = read_sample("dicom/RG1_UNCR.dcm");
    let mut obj = dicom_object::OpenFileOptions::new()
        .from_reader(&bytes[128..])
        .unwrap();
    obj.update_meta(|m| m.transfer_syntax = ts.to_string());
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

fn assert_unsupported(ts: &str, expected_name: &str) {
    match decode(&relabelled(ts), &Limits::default()) {
        Err(ImagingError::UnsupportedTransferSyntax { uid, name }) => {
            assert_eq!(uid, ts);
            assert!(name.contains(expected_name), "{name}");
        }
        other => panic!("expected UnsupportedTransferSyntax, got {other:?}"),
    }
}

#[test]
fn unsupported_transfer_syntax_is_named() {
    assert_unsupported("1.2.840.10008.1.2.4.100", "MPEG2");
}

/// Without the `jpegls` feature (CharLS) JPEG-LS is refused by name.
#[cfg(not(feature = "jpegls"))]
#[test]
fn jpeg_ls_without_charls_is_named() {
    assert_unsupported("1.2.840.10008.1.2.4.80", "JPEG-LS");
}

/// Random and mutated bytes through `decode` and `deidentify_dicom`: any
/// result is fine, a panic or a hang is not.
#[test]
fn fuzzed_input_never_panics() {
    let mut rng = StdRng::seed_from_u64(0xCA21A);
    let cfg = carina_imaging::DeidConfig::new(b"k".to_vec());
    let seeds: Vec<Vec<u8>> = [
        "dicom/siim_cr_jpeg_baseline.dcm",
        "png/00027426_000.png",
        "jpeg/person1946_bacteria_4874.jpeg",
    ]
    .iter()
    .map(|n| read_sample(n))
    .collect();
    let limits = Limits {
        max_bytes: 64 << 20,
        max_pixels: 20_000_000,
        ..Limits::default()
    };
    let start = Instant::now();
    for i in 0..150 {
        let mut data = seeds[i % seeds.len()].clone();
        match rng.random_range(0..4) {
            0 => {
                // flip bytes in the header region, where the structure lives
                for _ in 0..rng.random_range(1..8) {
                    let pos = rng.random_range(0..data.len().min(2048));
                    data[pos] = rng.random();
                }
            }
            1 => {
                for _ in 0..rng.random_range(1..32) {
                    let pos = rng.random_range(0..data.len());
                    data[pos] = rng.random();
                }
            }
            2 => {
                let cut = rng.random_range(0..data.len());
                data.truncate(cut);
            }
            _ => {
                let n = rng.random_range(0..4096);
                let mut head = data[..data.len().min(140)].to_vec();
                head.extend((0..n).map(|_| rng.random::<u8>()));
                data = head;
            }
        }
        let t = Instant::now();
        let _ = decode(&data, &limits);
        if t.elapsed() > Duration::from_millis(500) {
            eprintln!("slow case {i}: {:?}", t.elapsed());
        }
        if data.len() > 132 && &data[128..132] == b"DICM" {
            let _ = carina_imaging::deidentify_dicom(&data, &cfg);
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn samples_are_counted_with_their_channels_and_bytes() {
    let l = Limits::default();
    // 6000 × 6000 = 36 M pixels, under the 50 M pixel limit ...
    assert!(decode_cost(&png_header_of(6000, 6000, 8, 0), &l).is_ok());
    // ... but as RGBA16 that is 288 MB of samples, over 2 × 50 M bytes.
    let err = decode_cost(&png_header_of(6000, 6000, 16, 6), &l).unwrap_err();
    match &err {
        ImagingError::TooManySampleBytes {
            samples,
            bytes_per_sample,
            bytes,
            limit,
            ..
        } => {
            assert_eq!((*samples, *bytes_per_sample), (4, 2));
            assert_eq!(*bytes, 6000 * 6000 * 8);
            assert_eq!(*limit, 100_000_000);
        }
        other => panic!("expected TooManySampleBytes, got {other:?}"),
    }
    assert!(matches!(
        decode(&png_header_of(6000, 6000, 16, 6), &l),
        Err(ImagingError::TooManySampleBytes { .. })
    ));
    // A 16-bit gray image of the same size passes the header checks.
    assert!(decode_cost(&png_header_of(6000, 6000, 16, 0), &l).is_ok());
    // The default pixel limit fits a chest detector, not a billboard.
    assert!(decode_cost(&png_header_of(4300, 4300, 16, 0), &l).is_ok());
    assert!(matches!(
        decode_cost(&png_header(10_000, 10_000), &l),
        Err(ImagingError::TooManyPixels { .. })
    ));
}

#[test]
fn decode_cost_covers_what_decoding_the_samples_allocates() {
    let l = Limits::default();
    for name in all_samples() {
        let bytes = read_sample(&name);
        let cost = decode_cost(&bytes, &l).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = decode(&bytes, &l).unwrap_or_else(|e| panic!("{name}: {e}"));
        let pixels = u64::from(d.image.width) * u64::from(d.image.height);
        // At least the gray output and one conversion buffer ...
        assert!(cost >= pixels * 4, "{name}: {cost} for {pixels} pixels");
        // ... and not absurdly more than the file and its pixels.
        assert!(
            cost <= 3 * bytes.len() as u64 + pixels * 24 + (1 << 20),
            "{name}: {cost} for {pixels} pixels in {} bytes",
            bytes.len()
        );
    }
}
