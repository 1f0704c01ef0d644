//! `carina labels`: the default label set, for scripts.

use carina_core::LabelSet;

pub fn run() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&LabelSet::default())?);
    Ok(())
}
