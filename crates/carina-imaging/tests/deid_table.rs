//! The committed rule table `src/deid/ps315.tsv` is exactly what the
//! generator makes from the standard's Table E.1-1 in ../shared.

#[allow(dead_code)]
#[path = "../examples/gen_deid_table.rs"]
mod gen_deid_table;

use std::path::PathBuf;

#[test]
fn committed_table_matches_the_standard() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let json_path = root.join("../../../shared/data/dicom/ps3.15-table-e.1-1.json");
    let json = std::fs::read_to_string(&json_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", json_path.display()));
    let generated = gen_deid_table::generate(&json).unwrap();
    let committed = std::fs::read_to_string(root.join("src/deid/ps315.tsv")).unwrap();
    assert!(
        generated == committed,
        "src/deid/ps315.tsv is not what examples/gen_deid_table.rs makes from {}; regenerate it",
        json_path.display()
    );
    // All 621 rows, each once.
    let rows: Vec<&str> = generated
        .lines()
        .filter(|l| !l.starts_with('#') && *l != gen_deid_table::COLUMNS)
        .collect();
    assert_eq!(rows.len(), 621);
    assert!(
        rows.iter().all(|r| r.split('\t').count() == 9),
        "nine columns"
    );
}

#[test]
fn the_generator_refuses_what_it_does_not_understand() {
    let bad_code =
        r#"[{"tag":"(0010,0010)","name":"n","keyword":"k","vr":"PN","basic_profile":"Q"}]"#;
    assert!(gen_deid_table::generate(bad_code).is_err());
    let bad_tag =
        r#"[{"tag":"(0010,001)","name":"n","keyword":"k","vr":"PN","basic_profile":"X"}]"#;
    assert!(gen_deid_table::generate(bad_tag).is_err());
    let bad_option = r#"[{"tag":"(0010,0010)","name":"n","vr":"PN","basic_profile":"X","options":{"rtnEverything":"K"}}]"#;
    assert!(gen_deid_table::generate(bad_option).is_err());
    assert!(gen_deid_table::generate("not json").is_err());
}
