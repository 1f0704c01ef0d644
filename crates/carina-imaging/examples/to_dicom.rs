//! Convert any supported image to an uncompressed DICOM Secondary Capture, as
//! the server does for the viewer:
//! `cargo run -p carina-imaging --example to_dicom -- IN.png OUT.dcm`

use carina_imaging::{Limits, decode, to_secondary_capture};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        return Err("usage: to_dicom IN OUT.dcm".into());
    };
    let d = decode(&std::fs::read(input)?, &Limits::default())?;
    std::fs::write(output, to_secondary_capture(&d.image, &d.meta)?)?;
    Ok(())
}
