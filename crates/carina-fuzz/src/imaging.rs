//! Image uploads: what `POST /images` does with the bytes of one file.

use carina_imaging::{DeidConfig, Format, Limits};

/// The thumbnail side the server stores (`routes/ingest.rs`).
const THUMBNAIL_SIDE: u32 = 256;

/// One upload through the server's `prepare` (routes/ingest.rs), with the
/// server's default limits (`Limits::default()` is `CARINA_MAX_UPLOAD_MB` and
/// `CARINA_MAX_PIXELS` at their defaults): [`carina_imaging::decode`]; a
/// DICOM is de-identified with [`carina_imaging::deidentify_dicom`], a PNG or
/// JPEG becomes a Secondary Capture; the served file is decoded again and
/// thumbnailed. [`carina_imaging::probe`] (used when listing a data set) runs
/// on every input too, and the de-identifier on every input (not only those
/// that decode), so that it meets malformed files directly.
///
/// The PNG, JPEG, JPEG 2000 (DICOM with an encapsulated J2K frame, which is
/// how openjp2 is reached) and DICOM targets all call this; they differ in
/// their seed corpora.
///
/// It runs on a thread with a 2 MiB stack, like the server's
/// `spawn_blocking` pool (tokio's default), so that deep recursion overflows
/// here when it would in `carina serve` (the fuzzer's main thread has 8 MiB).
pub fn ingest(data: &[u8]) {
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("ingest".into())
            .stack_size(SERVER_STACK)
            .spawn_scoped(s, || prepare(data))
            .expect("spawn the ingest thread");
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

/// tokio's default stack size for worker and blocking threads.
const SERVER_STACK: usize = 2 * 1024 * 1024;

fn prepare(data: &[u8]) {
    let limits = Limits::default();
    let _ = carina_imaging::probe(data, &limits);
    let deid_cfg = DeidConfig::new(b"fuzzing secret".to_vec());
    let decoded = carina_imaging::decode(data, &limits);
    let served = match &decoded {
        Ok(d) if d.format == Format::Dicom => carina_imaging::deidentify_dicom(data, &deid_cfg)
            .ok()
            .map(|r| r.bytes),
        Ok(d) => carina_imaging::to_secondary_capture(&d.image, &d.meta).ok(),
        Err(_) => {
            let _ = carina_imaging::deidentify_dicom(data, &deid_cfg);
            None
        }
    };
    let Some(served) = served else {
        return;
    };
    let served_limits = Limits {
        max_bytes: u64::MAX,
        ..limits
    };
    // The served file is Carina's own output from a file that decoded: the
    // server answers 422 to the upload if it does not decode in its turn.
    let shown = match carina_imaging::decode(&served, &served_limits) {
        Ok(s) => s,
        Err(e) => panic!("the served file of an upload that decoded does not decode: {e}"),
    };
    let _ = carina_imaging::thumbnail(&shown.image, shown.meta.window, THUMBNAIL_SIDE);
}
