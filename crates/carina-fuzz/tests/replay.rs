//! Replays the committed fuzzing corpora (`corpus/<target>/`: a minimised
//! corpus per target plus every input that ever crashed a harness) through
//! the same harness functions the libFuzzer targets call. Each input must
//! return, panic-free, and without asking for more than 1 GiB at once (the
//! fuzzer's `-rss_limit_mb=1024 -malloc_limit_mb=1024`): the allocator below
//! refuses an allocation beyond that, and the test fails if any was refused
//! while an input ran, even when the code under test handled the refusal
//! (the server's allocator would have said yes): see `carina_fuzz::budget`.
//!
//! `corpus/hostile/` holds the hostile files of issue 12 §1 (deep nesting,
//! huge declared lengths, deflate bomb, billboard PNG) and every input the
//! fuzzer found crashing the DICOM reader before its pre-scan existed; they
//! run through the upload harness and must be refused within the budget.

use std::path::{Path, PathBuf};

#[global_allocator]
static ALLOC: carina_fuzz::budget::Budget = carina_fuzz::budget::Budget;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Panics seen by the hook, caught or not. The server catches a codec's
/// panic (`catch_unwind` around dicom-rs's pixel decoders) and libFuzzer
/// does not (its hook aborts), so a caught panic is a finding here too.
static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn count_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            default(info);
        }));
    });
}

fn replay(target: &str, harness: fn(&[u8])) -> usize {
    count_panics();
    let files = corpus(target);
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // A panic names the file: the default hook prints the message, and
        // this line says which input it was.
        eprintln!("{target}: {}", f.display());
        let start = std::time::Instant::now();
        harness(&bytes);
        eprintln!("  {:.2} s", start.elapsed().as_secs_f64());
        let panics = PANICS.swap(0, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            panics,
            0,
            "{}: a panic while it ran (caught or not; the message is above)",
            f.display()
        );
        carina_fuzz::budget::check(&f.display().to_string());
    }
    files.len()
}

#[test]
fn every_target_replays_its_corpus() {
    for (target, harness) in carina_fuzz::TARGETS {
        let n = replay(target, harness);
        assert!(n > 0, "corpus/{target}/ is empty");
    }
}

#[test]
fn every_fuzz_target_has_a_corpus_and_a_harness() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = std::fs::read_dir(&fuzz)
        .unwrap_or_else(|e| panic!("{}: {e}", fuzz.display()))
        .map(|e| e.expect("directory entry").path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = carina_fuzz::TARGETS
        .iter()
        .map(|t| t.0.to_string())
        .collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "fuzz/fuzz_targets/ and carina_fuzz::TARGETS"
    );
}

#[test]
fn hostile_files_are_refused_within_budget() {
    let n = replay("hostile", carina_fuzz::ingest);
    assert!(n > 0);
}
