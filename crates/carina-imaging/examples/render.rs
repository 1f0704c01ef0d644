//! Decode an image file, print what was found and how long it took, and write
//! the default-window rendering as PNG:
//! `cargo run -p carina-imaging --example render -- IN.dcm OUT.png`

use std::time::Instant;

use carina_imaging::{Limits, decode, render_png};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        return Err("usage: render IN OUT.png".into());
    };
    let bytes = std::fs::read(input)?;
    let t = Instant::now();
    let d = decode(&bytes, &Limits::default())?;
    let decode_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let png = render_png(&d.image, d.meta.window, false)?;
    let render_ms = t.elapsed().as_secs_f64() * 1e3;
    std::fs::write(output, png)?;
    println!(
        "{}×{} {} bits, {} {}, window {:.1}/{:.1}, decode {decode_ms:.0} ms, render+png {render_ms:.0} ms",
        d.image.width,
        d.image.height,
        d.image.bits,
        d.format.as_str(),
        d.meta
            .transfer_syntax
            .as_deref()
            .unwrap_or(&d.meta.photometric),
        d.meta.window.center,
        d.meta.window.width,
    );
    Ok(())
}
