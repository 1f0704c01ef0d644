use jpeg2k::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).unwrap();
    let start = 0;
    let cs = &bytes[start..];
    let side: u32 = args[3].parse().unwrap();
    let params = DecodeParameters::new().decode_area(Some(DecodeArea::new(600, 600, 600 + side, 600 + side)));
    let img = Image::from_bytes_with(cs, params).unwrap();
    println!("{}x{} comps={} prec={}", img.width(), img.height(), img.num_components(), img.components()[0].precision());
    img.save_as_file(&args[2]).unwrap();
    let back = Image::from_file(&args[2]).unwrap();
    println!("back {}x{} prec={}", back.width(), back.height(), back.components()[0].precision());
}
