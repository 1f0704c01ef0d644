//! Hostile files against a real `carina serve` (issue 12, section 1): every
//! one answers 4xx naming the limit it went over, nothing is stored, the
//! server stays up, and with several in flight at once its peak RSS (VmHWM
//! from /proc) stays under 1 GiB.

use carina_testkit::dicom::{element as el, even, item_tag, long_header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Preamble, magic and the file meta group of a Digital X-Ray image.
fn part10(ts: &str) -> Vec<u8> {
    carina_testkit::dicom::part10_header(
        "1.2.840.10008.5.1.4.1.1.1.1",
        "1.2.826.0.1.3680043.2.1",
        ts,
    )
}

/// The leading attributes every file here carries (tags in order).
fn identity() -> Vec<u8> {
    let mut ds = el(
        0x0008,
        0x0016,
        b"UI",
        &even("1.2.840.10008.5.1.4.1.1.1.1", 0),
    );
    ds.extend(el(
        0x0008,
        0x0018,
        b"UI",
        &even("1.2.826.0.1.3680043.2.1", 0),
    ));
    ds.extend(el(0x0008, 0x0060, b"CS", b"DX"));
    ds
}

/// A valid 16 × 16 MONOCHROME2 image: the attributes and the pixel data.
fn small_image() -> Vec<u8> {
    let mut ds = el(0x0028, 0x0002, b"US", &1u16.to_le_bytes());
    ds.extend(el(0x0028, 0x0004, b"CS", b"MONOCHROME2 "));
    ds.extend(el(0x0028, 0x0010, b"US", &16u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0011, b"US", &16u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0100, b"US", &16u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0101, b"US", &12u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0102, b"US", &11u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0103, b"US", &0u16.to_le_bytes()));
    let pixels: Vec<u8> = (0..256u16).flat_map(|v| (v * 16).to_le_bytes()).collect();
    ds.extend(el(0x7FE0, 0x0010, b"OW", &pixels));
    ds
}

/// Sequences nested `depth` deep with undefined lengths, in a valid image.
fn deep_dicom(depth: usize) -> Vec<u8> {
    let mut out = part10(EXPLICIT_LE);
    out.extend(identity());
    for _ in 0..depth {
        out.extend(long_header(0x0040, 0xA730, b"SQ", UNDEFINED));
        out.extend(item_tag(0xE000, UNDEFINED));
    }
    for _ in 0..depth {
        out.extend(item_tag(0xE00D, 0));
        out.extend(item_tag(0xE0DD, 0));
    }
    out.extend(small_image());
    out
}

/// 438 bytes that declare a 0xFFFFFFF0-byte private element.
fn overlong_dicom() -> Vec<u8> {
    let mut out = part10(EXPLICIT_LE);
    out.extend(identity());
    out.extend(el(0x0009, 0x0010, b"LO", b"CARINA HOSTILE"));
    out.extend(long_header(0x0009, 0x1010, b"OB", 0xFFFF_FFF0));
    assert!(out.len() <= 438, "{}", out.len());
    out.resize(438, 0);
    out
}

/// Raw deflate, written bit by bit (RFC 1951: fields from the least
/// significant bit, Huffman codes from their most significant bit).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    fn code(&mut self, code: u64, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
    fn align(&mut self) {
        if self.n > 0 {
            self.put(0, 8 - self.n);
        }
    }
    fn stored(&mut self, data: &[u8], last: bool) {
        for (i, chunk) in data.chunks(65535).enumerate() {
            let final_chunk = last && (i + 1) * 65535 >= data.len();
            self.put(u64::from(final_chunk), 1);
            self.put(0, 2);
            self.align();
            let len = chunk.len() as u16;
            self.out.extend_from_slice(&len.to_le_bytes());
            self.out.extend_from_slice(&(!len).to_le_bytes());
            self.out.extend_from_slice(chunk);
        }
    }
    /// `count` zero bytes in one dynamic-Huffman block whose codes make a
    /// 258-byte copy cost two bits: literal/length codes 285 → `0`,
    /// literal 0 → `10`, end of block → `11`; one distance code (1) → `0`.
    fn zeros(&mut self, count: u64) {
        self.put(0, 1); // not the last block
        self.put(2, 2); // dynamic Huffman
        self.put(29, 5); // 286 literal/length codes
        self.put(0, 5); // 1 distance code
        self.put(14, 4); // 18 code-length codes
        // Code-length code lengths in the RFC's order: 18 → 1, 2 → 2, 1 → 2.
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
        for sym in order {
            let len = match sym {
                18 => 1,
                1 | 2 => 2,
                _ => 0,
            };
            self.put(len, 3);
        }
        // Code-length codes: 18 → `0`, 1 → `10`, 2 → `11`.
        self.code(0b11, 2); // literal 0: length 2
        self.code(0, 1); // 138 zeros (1..=138)
        self.put(127, 7);
        self.code(0, 1); // 117 zeros (139..=255)
        self.put(106, 7);
        self.code(0b11, 2); // 256: length 2
        self.code(0, 1); // 28 zeros (257..=284)
        self.put(17, 7);
        self.code(0b10, 2); // 285: length 1
        self.code(0b10, 2); // distance 0: length 1
        // The data: one literal zero, then copies of 258 from distance 1.
        self.code(0b10, 2);
        let rest = count - 1;
        for _ in 0..rest / 258 {
            self.code(0, 1);
            self.code(0, 1);
        }
        for _ in 0..rest % 258 {
            self.code(0b10, 2);
        }
        self.code(0b11, 2); // end of block
    }
}

/// A deflated DICOM (about 1 MB) whose data set inflates to a 1 GiB
/// private element followed by a valid image.
fn deflated_bomb() -> (Vec<u8>, u64) {
    let mut head = identity();
    head.extend(el(0x0009, 0x0010, b"LO", b"CARINA HOSTILE"));
    head.extend(long_header(0x0009, 0x1010, b"OB", 1 << 30));
    let tail = small_image();
    let mut bits = Bits::default();
    bits.stored(&head, false);
    bits.zeros(1 << 30);
    bits.stored(&tail, true);
    bits.align();
    let inflated = head.len() as u64 + (1 << 30) + tail.len() as u64;
    let mut out = part10(DEFLATED);
    out.extend(bits.out);
    (out, inflated)
}

fn png_of<P>(img: &image::ImageBuffer<P, Vec<P::Subpixel>>) -> Vec<u8>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
{
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_carina"))
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env_remove("CARINA_DATABASE_URL")
            .env_remove("CARINA_OBJECT_STORE_URL")
            .env_remove("CARINA_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start carina serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Self { child, base: addr }
    }

    /// Peak resident memory of the server process so far, in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[derive(Clone)]
struct Client {
    base: String,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Client {
    async fn first_account(base: &str) -> Self {
        let http = reqwest::Client::new();
        let creds = json!({"username": "radiologist", "password": "hostile-files-are-refused"});
        let r = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("carina_session="))
            .map(|v| v.split(';').next().unwrap().to_string())
            .unwrap();
        let body: Value = r.json().await.unwrap();
        Self {
            base: base.to_string(),
            http,
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    async fn upload(&self, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        let r = self
            .http
            .post(format!("{}/api/v1/images", self.base))
            .header("Cookie", format!("carina_session={}", self.cookie))
            .header("X-CSRF-Token", &self.csrf)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Cookie", format!("carina_session={}", self.cookie))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// One hostile file and what its refusal must say.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Each must appear in the error message.
    says: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let (bomb, inflated) = deflated_bomb();
    assert!(inflated > 1 << 30);
    assert!(bomb.len() < 1_200_000, "{}", bomb.len());
    let deep = deep_dicom(3000);
    assert!(deep.len() > 100_000);
    let billboard = png_of(&image::GrayImage::new(10_000, 10_000));
    // 16 M pixels (under the pixel limit), 8 bytes each: 128 MB of samples.
    let rgba16 = png_of(&image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::new(
        4_000, 4_000,
    ));
    vec![
        Case {
            name: "deep.dcm",
            bytes: deep,
            says: &["16 levels", "CARINA_MAX_DICOM_DEPTH"],
        },
        Case {
            name: "overlong.dcm",
            bytes: overlong_dicom(),
            says: &["(0009,1010)", "4294967280 bytes"],
        },
        Case {
            name: "bomb.dcm",
            bytes: bomb,
            says: &["1073741824 bytes", "CARINA_MAX_INFLATED_MB"],
        },
        Case {
            name: "billboard.png",
            bytes: billboard,
            says: &["10000×10000", "50000000", "CARINA_MAX_PIXELS"],
        },
        Case {
            name: "rgba16.png",
            bytes: rgba16,
            says: &[
                "4 sample(s) of 2 byte(s)",
                "100000000 bytes",
                "CARINA_MAX_PIXELS",
            ],
        },
    ]
}

#[test]
fn the_deflate_writer_makes_what_it_says() {
    // The same writer, 10 MB of zeros: inflated with an independent
    // inflater, it is the head, exactly that many zeros, and the tail.
    let mut bits = Bits::default();
    bits.stored(b"head", false);
    bits.zeros(10_000_000);
    bits.stored(b"tail", true);
    bits.align();
    let out = miniz_oxide::inflate::decompress_to_vec(&bits.out).expect("valid deflate");
    assert_eq!(out.len(), 4 + 10_000_000 + 4);
    assert_eq!(&out[..4], b"head");
    assert!(out[4..out.len() - 4].iter().all(|&b| b == 0));
    assert_eq!(&out[out.len() - 4..], b"tail");
    assert!(bits.out.len() < 10_000_000 / 900, "{}", bits.out.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_uploads_are_refused_and_the_server_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    let client = Client::first_account(&server.base).await;
    let cases = cases();

    // One at a time: each refused with a 4xx that names its limit.
    for case in &cases {
        let (status, body) = client.upload(case.name, case.bytes.clone()).await;
        assert!(status.is_client_error(), "{}: {status} {body}", case.name);
        let message = body["error"]["message"].as_str().unwrap_or_default();
        for needle in case.says {
            assert!(message.contains(needle), "{}: {message}", case.name);
        }
        assert!(server.alive(), "the server died on {}", case.name);
    }

    // All of them at once, twice over: at least four in flight together.
    let mut tasks = Vec::new();
    for _ in 0..2 {
        for case in &cases {
            let (c, name, bytes) = (client.clone(), case.name, case.bytes.clone());
            tasks.push(tokio::spawn(
                async move { (name, c.upload(name, bytes).await) },
            ));
        }
    }
    for t in tasks {
        let (name, (status, body)) = t.await.unwrap();
        assert!(status.is_client_error(), "{name}: {status} {body}");
    }
    assert!(
        server.alive(),
        "the server died under concurrent hostile uploads"
    );
    let peak_kib = server.peak_rss_kib();
    eprintln!("carina serve peak RSS (VmHWM): {} MiB", peak_kib / 1024);
    assert!(
        peak_kib < 1024 * 1024,
        "peak RSS of carina serve was {} MiB",
        peak_kib / 1024
    );

    // Nothing stored: no image row, no object.
    let (status, list) = client.get("/api/v1/images").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 0, "{list}");
    // (The bundled model's weights are the only object a fresh server writes.)
    let objects: Vec<_> = files_under(&data.join("objects"))
        .into_iter()
        .filter(|p| !p.starts_with(data.join("objects/models")))
        .collect();
    assert!(objects.is_empty(), "objects were written: {objects:?}");

    // And the server still does its job.
    let ok = png_of(&image::GrayImage::from_fn(64, 48, |x, y| {
        image::Luma([(x * 3 + y) as u8])
    }));
    let (status, body) = client.upload("ok.png", ok).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["width"], 64);
    assert!(server.alive());
}
