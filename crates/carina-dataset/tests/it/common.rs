//! Helpers shared by the test modules: the shared data folder and a small
//! generated VinDr-format dataset.

use std::path::{Path, PathBuf};

/// `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Writes a `w`×`h` 8-bit grey PNG with a gradient, so that conversions can
/// be checked pixel by pixel.
pub fn write_png(path: &Path, w: u32, h: u32) {
    let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]));
    img.save(path).unwrap();
}

/// A generated VinDr-format dataset: three PNG images, several readers,
/// "No finding" rows and one bad row of each kind. Line numbers in the
/// comments are the CSV's (the header is line 1).
pub const VINDR_CSV: &str = "\
image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max
img_a,Cardiomegaly,3,R1,50,40,150,90
img_a,Cardiomegaly,3,R2,52,42,148,92
img_a,Aortic enlargement,0,R1,90,10,110,30
img_a,Pleural effusion,10,R3,10,60,40,95
img_b,No finding,14,R1,,,,
img_b,No finding,14,R2,,,,
img_c,Nodule/Mass,8,R2,20,20,40,40
img_c,Pleural thickening,11,R1,5,5,30,15
img_c,Nodule/Mass,8,R1,NaN,20,40,40
img_c,Atelectasis,1,R1,60,60,40,80
img_c,Pneumothorax,12,R2,10,10,200,50
img_c,Tumour,99,R2,10,10,20,20
img_c,Atelectasis,1,R2,10,10
img_missing,Cardiomegaly,3,R1,10,10,20,20
img_d,Infiltration,6,R1,10,20,30,x
";

/// Image sizes of [`VINDR_CSV`]'s images.
pub const VINDR_IMAGES: [(&str, u32, u32); 3] = [
    ("img_a", 200, 100),
    ("img_b", 120, 160),
    ("img_c", 100, 120),
];

/// Writes [`VINDR_CSV`] and its images into `dir`; returns (csv, images dir).
pub fn write_vindr(dir: &Path) -> (PathBuf, PathBuf) {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for (id, w, h) in VINDR_IMAGES {
        write_png(&images.join(format!("{id}.png")), w, h);
    }
    let csv = dir.join("train.csv");
    std::fs::write(&csv, VINDR_CSV).unwrap();
    (csv, images)
}
