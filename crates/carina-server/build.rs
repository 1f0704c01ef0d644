// The editor's build output is embedded by rust-embed; rebuild when it changes
// (including when web/dist appears after a first build without it).
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
