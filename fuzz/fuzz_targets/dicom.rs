#![no_main]
// Harness: carina_fuzz::ingest (crates/carina-fuzz), replayed by its tests/replay.rs.

// Allocations past 1 GiB are refused, and the input counts as a crash.
#[global_allocator]
static ALLOC: carina_fuzz::budget::Budget = carina_fuzz::budget::Budget;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    carina_fuzz::ingest(data);
    carina_fuzz::budget::check("input");
});
