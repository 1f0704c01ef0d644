//! Writes the synthetic seed inputs of every fuzz target, and the hostile
//! files of issue 12 §1, into `OUT/<target>/`:
//!
//! ```text
//! cargo run -p carina-fuzz --example make_seeds -- OUT [J2K_CODESTREAM...]
//! ```
//!
//! Small on purpose (a fuzzer mutates small inputs fast): 8–64 px DICOMs in
//! every transfer syntax Carina decodes, PNGs in every colour type, a JPEG,
//! multipart bodies, annotation JSON and importer files. JPEG 2000
//! codestreams cannot be written with the workspace's dependencies; pass
//! small `.j2k` files (see docs/fuzzing.md for how the committed ones were
//! cut from the J2K samples) and each becomes a DICOM with an encapsulated
//! frame. The real samples in `../shared/data/samples` are added by the
//! script in docs/fuzzing.md, not here.

mod dcm;

use carina_imaging::{
    GrayImage, ImageMeta, Window, encode_jpeg8, encode_png8, to_secondary_capture,
};
use dcm::{Dicom, EXPLICIT_LE, IMPLICIT_LE};
use std::path::Path;

/// Where the seeds go: `OUT/<target>/<name>`.
struct Out<'a>(&'a Path);

impl Out<'_> {
    fn write(&self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.0.join(target);
        std::fs::create_dir_all(&dir).expect("create the output folder");
        std::fs::write(dir.join(name), bytes).expect("write a seed");
    }
}

/// A 16×16 8-bit ramp, the pixels of most small seeds.
fn ramp8() -> Vec<u8> {
    (0..16 * 16).map(|i| (i * 3) as u8).collect()
}

/// A 32×24 12-bit image.
fn image16() -> GrayImage {
    let g16: Vec<u16> = (0..32 * 24).map(|i| (i * 5) as u16 & 0x0FFF).collect();
    GrayImage::new(32, 24, 12, g16).expect("image")
}

/// The image module of a 16×16 8-bit MONOCHROME2 image.
fn raw8(d: &mut Dicom) {
    d.image_module(16, 16, 8, 8, 0, "MONOCHROME2");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = Out(Path::new(
        args.first().expect("usage: make_seeds OUT [J2K...]"),
    ));
    dicom_seeds(&out);
    j2k_seeds(&out, &args[1..]);
    raster_seeds(&out);
    multipart_seeds(&out);
    annotation_seeds(&out);
    importer_seeds(&out);
    hostile_seeds(&out);
}

/// DICOMs in every transfer syntax Carina decodes (J2K aside).
fn dicom_seeds(out: &Out<'_>) {
    let g8 = ramp8();
    let img16 = image16();
    for (name, photometric) in [
        ("sc-12bit-mono2.dcm", "MONOCHROME2"),
        ("sc-12bit-mono1.dcm", "MONOCHROME1"),
    ] {
        let meta = ImageMeta::for_raster(
            &img16,
            photometric,
            Window {
                center: 2048.0,
                width: 4096.0,
            },
        );
        out.write(
            "dicom",
            name,
            &to_secondary_capture(&img16, &meta).expect("SC"),
        );
    }
    let mut d = Dicom::new(EXPLICIT_LE);
    d.patient();
    raw8(&mut d);
    d.window();
    d.pixels_native(&g8, false);
    out.write("dicom", "explicit-8bit.dcm", &d.finish(true));

    let mut d = Dicom::new(IMPLICIT_LE);
    d.patient();
    d.image_module(16, 16, 16, 12, 1, "MONOCHROME2");
    d.rescale();
    let signed: Vec<u8> = (0..256u32)
        .flat_map(|i| ((i as i16 - 128) * 8).to_le_bytes())
        .collect();
    d.pixels_native(&signed, true);
    out.write("dicom", "implicit-16bit-signed.dcm", &d.finish(false));

    let mut d = Dicom::new(EXPLICIT_LE);
    d.patient();
    raw8(&mut d);
    d.nested_sequence();
    d.private_tags();
    d.pixels_native(&g8, false);
    out.write("dicom", "explicit-sequences-private.dcm", &d.finish(true));

    let mut d = Dicom::new(dcm::DEFLATED);
    d.patient();
    raw8(&mut d);
    d.pixels_native(&g8, false);
    out.write("dicom", "deflated.dcm", &d.finish(true));

    let mut d = Dicom::new(dcm::RLE);
    raw8(&mut d);
    d.pixels_encapsulated(&[dcm::rle_frame(&g8)]);
    out.write("dicom", "rle-8bit.dcm", &d.finish(true));

    let jpeg = encode_jpeg8(16, 16, &g8, 90).expect("JPEG");
    let mut d = Dicom::new(dcm::JPEG_BASELINE);
    d.patient();
    raw8(&mut d);
    d.pixels_encapsulated(std::slice::from_ref(&jpeg));
    out.write("dicom", "jpeg-baseline.dcm", &d.finish(true));
}

/// JPEG 2000: DICOMs with an encapsulated codestream, one per `.j2k` file given.
fn j2k_seeds(out: &Out<'_>, j2k_files: &[String]) {
    for (i, path) in j2k_files.iter().enumerate() {
        let cs = std::fs::read(path).expect("read a J2K codestream");
        let (w, h, prec) = dcm::j2k_siz(&cs).expect("a J2K codestream starting with SOC, SIZ");
        for (ts, tag) in [(dcm::J2K_LOSSLESS, "j2kr"), (dcm::J2K, "j2ki")] {
            let mut d = Dicom::new(ts);
            d.patient();
            let bits = if prec > 8 { 16 } else { 8 };
            d.image_module(w as u16, h as u16, bits, prec, 0, "MONOCHROME2");
            d.pixels_encapsulated(std::slice::from_ref(&cs));
            out.write(
                "j2k",
                &format!("{tag}-{i}-{w}x{h}-{prec}bit.dcm"),
                &d.finish(true),
            );
        }
    }
}

/// PNGs in every colour type, and JPEGs.
fn raster_seeds(out: &Out<'_>) {
    let g8 = ramp8();
    let img16 = image16();
    let jpeg = encode_jpeg8(16, 16, &g8, 90).expect("JPEG");
    out.write("png", "gray8.png", &encode_png8(16, 16, &g8).expect("PNG"));
    out.write(
        "png",
        "gray16.png",
        &carina_imaging::encode_png16(&img16).expect("PNG"),
    );
    let rgb =
        image::RgbImage::from_fn(12, 10, |x, y| image::Rgb([x as u8 * 20, y as u8 * 25, 128]));
    out.write(
        "png",
        "rgb8.png",
        &png_of(image::DynamicImage::ImageRgb8(rgb)),
    );
    let rgba16 = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::from_fn(9, 7, |x, y| {
        image::Rgba([x as u16 * 7000, y as u16 * 9000, 300, 65535])
    });
    out.write(
        "png",
        "rgba16.png",
        &png_of(image::DynamicImage::ImageRgba16(rgba16)),
    );
    let la = image::GrayAlphaImage::from_fn(8, 8, |x, y| image::LumaA([(x * y) as u8 * 4, 255]));
    out.write(
        "png",
        "gray-alpha.png",
        &png_of(image::DynamicImage::ImageLumaA8(la)),
    );
    out.write("jpeg", "gray8.jpg", &jpeg);
    let rgb = image::RgbImage::from_fn(24, 16, |x, y| image::Rgb([x as u8 * 10, y as u8 * 15, 60]));
    let mut color = Vec::new();
    image::DynamicImage::ImageRgb8(rgb)
        .write_to(
            &mut std::io::Cursor::new(&mut color),
            image::ImageFormat::Jpeg,
        )
        .expect("JPEG");
    out.write("jpeg", "rgb8.jpg", &color);
}

/// Multipart bodies (chunk byte, Content-Type line, body).
fn multipart_seeds(out: &Out<'_>) {
    let png = encode_png8(4, 4, &[7; 16]).expect("PNG");
    for (name, chunk, boundary) in [
        ("one-file", 0u8, "XyZ123"),
        ("split-7", 6, "----WebKitFormBoundary7MA4YWxkTrZu0gW"),
    ] {
        let mut body = vec![chunk];
        body.extend_from_slice(format!("multipart/form-data; boundary={boundary}\n").as_bytes());
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"predict\"\r\n\r\ntrue\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chest.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
        body.extend_from_slice(&png);
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''r%C3%B6ntgen.dcm\r\n\r\nDICM\r\n--{boundary}--\r\n").as_bytes());
        out.write("multipart", &format!("{name}.bin"), &body);
    }
}

/// Annotation JSON.
fn annotation_seeds(out: &Out<'_>) {
    out.write("annotation_json", "save.json", br#"{"no_finding":false,"boxes":[{"id":3,"class_id":1,"bbox":[10,20,30.5,40],"status":"accepted"},{"class_id":8,"bbox":[0,0,2048,2500],"source":"model","score":0.9}]}"#);
    out.write(
        "annotation_json",
        "no-finding.json",
        br#"{"no_finding":true,"boxes":[]}"#,
    );
    out.write("annotation_json", "edge.json", br#"{"boxes":[{"id":-1,"class_id":4294967295,"bbox":[1e-300,0,1.7976931348623157e308,0.5],"status":"proposed"}]}"#);
}

/// Importer files (VinDr CSV, NIH box list, COCO).
fn importer_seeds(out: &Out<'_>) {
    out.write(
        "import_vindr",
        "train.csv",
        b"image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n\
        a1,Cardiomegaly,3,R10,691,1375,1653,1831\n\
        a1,Cardiomegaly,3,R9,696,1366,1647,1822\n\
        a1,No finding,14,R8,,,,\n\
        b2,Pleural effusion,10,R9,1545.5,1833,2053,2155.25\n\
        b2,Nodule/Mass,8,R11,-3,10,40,5\n\
        c3,Aortic enlargement,0,R10,1,2,3\n",
    );
    out.write(
        "import_vindr",
        "no-class-id.csv",
        b"image_id,class_name,rad_id,x_min,y_min,x_max,y_max\nx,Lung Opacity,R1,1,2,3,4\n",
    );
    let nih = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nih/BBox_List_2017.csv"))
        .unwrap_or_else(|_| "Image Index,Finding Label,Bbox [x,y,w,h],,,\n00013118_008.png,Atelectasis,225.08,547.01,86.77,79.18\n".into());
    let head: String = nih.lines().take(12).map(|l| format!("{l}\n")).collect();
    out.write("import_nih", "bbox-list.csv", head.as_bytes());
    out.write("import_nih", "odd.csv", b"Image Index,Finding Label,Bbox [x,y,w,h],,,\nx.png,Mass,1,2,-3,4\ny.png,Nodule,1,2,3\nz.png,Infiltrate,nan,2,3,4\n");
    out.write("import_coco", "coco.json", br#"{"info":{"description":"x"},"images":[{"id":1,"file_name":"a.png","width":1024,"height":1024,"source":"a","readers":["R1"]},{"id":2,"file_name":"","width":10,"height":10}],"annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[10,10,100,50],"area":5000,"iscrowd":0,"provenance":{"kind":"radiologist","user":"R1"},"status":"manual"},{"id":2,"image_id":2,"category_id":7,"bbox":[5,5,10,10],"provenance":{"kind":"model","model":"m","version":"1"},"status":"proposed","score":0.5,"fused_from":["R1","R2"]},{"id":3,"image_id":9,"category_id":1,"bbox":[0,0,1,1]}],"categories":[{"id":1,"name":"Cardiomegaly","supercategory":"finding"},{"id":7,"name":"Pneumothorax"},{"id":7,"name":"dup"}]}"#);
}

/// The hostile files of issue 12 §1.
fn hostile_seeds(out: &Out<'_>) {
    let g8 = ramp8();
    let mut d = Dicom::new(EXPLICIT_LE);
    d.patient();
    raw8(&mut d);
    d.deep_sequences(3000);
    d.pixels_native(&g8, false);
    out.write("hostile", "nested-3000.dcm", &d.finish(true));

    let mut d = Dicom::new(EXPLICIT_LE);
    d.patient();
    raw8(&mut d);
    d.huge_private_element(0xFFFF_FFF0);
    out.write(
        "hostile",
        "declared-0xfffffff0-private.dcm",
        &d.finish(true),
    );

    let mut d = Dicom::new(EXPLICIT_LE);
    d.patient();
    raw8(&mut d);
    d.huge_pixel_data(0xFFFF_FFF0);
    out.write(
        "hostile",
        "declared-0xfffffff0-pixeldata.dcm",
        &d.finish(true),
    );

    let mut d = Dicom::new(dcm::DEFLATED);
    d.patient();
    raw8(&mut d);
    d.zero_private_element(1 << 30);
    d.pixels_native(&g8, false);
    out.write("hostile", "deflate-bomb-1gib.dcm", &d.finish(true));

    out.write(
        "hostile",
        "billboard-10000x10000.png",
        &dcm::png_gray8_zeros(10_000, 10_000),
    );
}

fn png_of(img: image::DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("PNG");
    out
}
