//! `carina labels` and argument handling common to all subcommands.

use crate::carina;

#[test]
fn labels_lists_the_nine_findings() {
    let out = carina(&["labels"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let labels = v["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 9);
    assert_eq!(labels[4]["name"], "Nodule/Mass");
}

#[test]
fn unknown_subcommand_fails_with_message() {
    let out = carina(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("frobnicate"));
}
