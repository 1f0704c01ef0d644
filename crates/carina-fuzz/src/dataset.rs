//! Dataset importers (`carina dataset import`): VinDr-CXR `train.csv`, the
//! NIH box list and COCO JSON. The importers read a path, so each input is
//! written to a per-thread scratch file first; a dataset that imports is then
//! exported again (COCO and VinDr CSV), as `carina dataset export` would.

use carina_dataset::import::{self, ImportOptions};
use carina_dataset::model::Dataset;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn import_vindr(data: &[u8]) {
    with_file(data, "csv", |p| {
        import::import_vindr(p, &ImportOptions::default()).map(|r| r.0)
    });
}

pub fn import_nih(data: &[u8]) {
    with_file(data, "csv", |p| {
        import::import_nih(p, &ImportOptions::default()).map(|r| r.0)
    });
}

pub fn import_coco(data: &[u8]) {
    with_file(data, "json", |p| {
        import::import_coco(p, &ImportOptions::default()).map(|r| r.0)
    });
}

fn with_file<E>(data: &[u8], ext: &str, f: impl FnOnce(&Path) -> Result<Dataset, E>) {
    let path = scratch(ext);
    std::fs::write(&path, data).expect("write the scratch file");
    let result = f(&path);
    let _ = std::fs::remove_file(&path);
    if let Ok(ds) = result {
        let coco = carina_dataset::cocoext::to_coco(&ds);
        serde_json::to_vec(&coco).expect("a dataset serialises as COCO");
        carina_dataset::export::write_vindr(&ds, Vec::new()).expect("VinDr CSV into memory");
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SCRATCH: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// A file name private to this thread (tests run the harnesses in
/// parallel), in RAM where Linux offers it.
fn scratch(ext: &str) -> PathBuf {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let base = s.get_or_insert_with(|| {
            let shm = Path::new("/dev/shm");
            let dir = if shm.is_dir() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            };
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            dir.join(format!("carina-fuzz-{}-{n}", std::process::id()))
        });
        base.with_extension(ext)
    })
}
