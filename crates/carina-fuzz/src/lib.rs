//! Fuzzing harnesses: one function per fuzz target, each feeding untrusted
//! bytes through the same public entry points that `carina serve` and
//! `carina dataset import` use.
//!
//! The libFuzzer targets in `fuzz/fuzz_targets/` (a separate crate, outside
//! the workspace) are one line each around these functions, and
//! `tests/replay.rs` feeds every file of the committed regression corpora
//! (`corpus/<target>/`) through them under `cargo test`, so a crash found by
//! the fuzzer stays fixed. A harness returns normally for any input (an
//! `Err` from the code under test is a correct answer to bad bytes); a panic,
//! abort, hang or runaway allocation is a finding. See `docs/fuzzing.md`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

pub mod budget;
pub mod dataset;
pub mod imaging;

pub use dataset::{import_coco, import_nih, import_vindr};
pub use imaging::ingest;

/// A harness: any bytes in, returns or panics.
pub type Harness = fn(&[u8]);

/// Every fuzz target, by the name used for `fuzz/fuzz_targets/<name>.rs` and
/// `corpus/<name>/`, with its harness.
pub const TARGETS: [(&str, Harness); 9] = [
    ("dicom", ingest),
    ("png", ingest),
    ("jpeg", ingest),
    ("j2k", ingest),
    ("multipart", multipart),
    ("annotation_json", annotation_json),
    ("import_vindr", import_vindr),
    ("import_nih", import_nih),
    ("import_coco", import_coco),
];

/// The upload body as `POST /images` reads it: axum's `Multipart` is
/// `multer` with the boundary from the request's `Content-Type`, and the
/// route walks every part, reading its name, file name and bytes.
///
/// Input layout: byte 0 picks the size of the body chunks the stream
/// delivers (1..=64 bytes, so that boundaries straddle chunk edges as they
/// do on a socket); then the `Content-Type` header value up to the first
/// `\n`; then the body.
pub fn multipart(data: &[u8]) {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk % 64) + 1;
    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Ok(content_type) = std::str::from_utf8(&rest[..nl]) else {
        return;
    };
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return;
    };
    let body = &rest[nl + 1..];
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(chunk)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let mut mp = multer::Multipart::new(futures_util::stream::iter(chunks), boundary);
    let mut total = 0usize;
    loop {
        let field = match block_on(mp.next_field()) {
            Ok(Some(f)) => f,
            Ok(None) | Err(_) => break,
        };
        let _ = (field.name(), field.file_name(), field.content_type());
        match block_on(field.bytes()) {
            Ok(b) => total += b.len(),
            Err(_) => break,
        }
    }
    assert!(total <= body.len(), "parts hold more bytes than the body");
}

/// The body of `PUT /images/{id}/annotations` (the server's `SaveBody`: the
/// same shape, built from carina-core's types), then the checks the route
/// makes with carina-core: label lookup in the default label set, the box
/// inside the image, plus the invariants other code relies on.
pub fn annotation_json(data: &[u8]) {
    use carina_core::{BBox, BoxStatus, LabelSet};

    #[derive(serde::Deserialize)]
    struct SaveBody {
        #[serde(default)]
        #[allow(dead_code)]
        no_finding: bool,
        boxes: Vec<BoxBody>,
    }
    #[derive(serde::Deserialize)]
    struct BoxBody {
        #[allow(dead_code)]
        id: Option<i64>,
        class_id: u32,
        bbox: BBox,
        #[serde(default = "manual")]
        #[allow(dead_code)]
        status: BoxStatus,
    }
    fn manual() -> BoxStatus {
        BoxStatus::Manual
    }

    let Ok(body) = serde_json::from_slice::<SaveBody>(data) else {
        return;
    };
    let labels = LabelSet::default();
    // A 14-bit chest radiograph's size, and a tiny image.
    let sizes = [(2048u32, 2500u32), (1, 1)];
    let mut previous: Option<BBox> = None;
    for b in &body.boxes {
        let _ = labels.get(b.class_id).map(|l| l.retired);
        let [x0, y0, x1, y1] = b.bbox.to_array();
        assert!(x0 <= x1 && y0 <= y1, "a BBox is ordered");
        assert!(b.bbox.to_array().iter().all(|v| v.is_finite()));
        for (w, h) in sizes {
            let within = b.bbox.check_within(w, h).is_ok();
            assert_eq!(BBox::new_within(x0, y0, x1, y1, w, h).is_ok(), within);
            let clipped = b.bbox.clip(w, h);
            assert!(
                clipped.check_within(w, h).is_ok(),
                "clip({w}, {h}) of {:?} gave {:?}",
                b.bbox,
                clipped
            );
        }
        if let Some(p) = previous {
            let iou = b.bbox.iou(&p);
            assert!(
                iou.is_nan() || (0.0..=1.0 + 1e-9).contains(&iou) || !b.bbox.area().is_finite(),
                "iou {iou} of {:?} and {p:?}",
                b.bbox
            );
        }
        let json = serde_json::to_string(&b.bbox).expect("a BBox serialises");
        let back: BBox = serde_json::from_str(&json).expect("a serialised BBox parses");
        assert_eq!(back, b.bbox, "JSON round trip");
        previous = Some(b.bbox);
    }
}

/// Drives a future whose I/O is all in memory to completion. The streams
/// the harnesses build are always ready, so a pending poll that never
/// resolves would be a hang in the parser: it panics after a bound.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future still pending after 1,000,000 polls on a ready stream");
}
