//! De-identify a DICOM file with a given secret and print the pseudonyms:
//! `cargo run -p carina-imaging --example deid -- IN.dcm OUT.dcm SECRET`

use carina_imaging::{DeidConfig, deidentify_dicom};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, secret] = args.as_slice() else {
        return Err("usage: deid IN.dcm OUT.dcm SECRET".into());
    };
    let out = deidentify_dicom(&std::fs::read(input)?, &DeidConfig::new(secret.as_bytes()))?;
    std::fs::write(output, &out.bytes)?;
    println!(
        "patient {} study {} series {} sop {}",
        out.patient_pseudonym, out.study_uid, out.series_uid, out.sop_instance_uid
    );
    Ok(())
}
