//! A minimal PDF 1.4 file writer: numbered objects, Flate streams, the
//! cross-reference table and trailer (ISO 32000-1 §7.5).

use std::fmt::Write as _;

/// Object numbers start at 1; `objects[i]` is object `i + 1`'s body
/// (everything between `N 0 obj` and `endobj`).
#[derive(Default)]
pub struct PdfWriter {
    objects: Vec<Vec<u8>>,
}

impl PdfWriter {
    /// Reserves an object number to be filled later with [`PdfWriter::set`].
    pub fn reserve(&mut self) -> usize {
        self.objects.push(Vec::new());
        self.objects.len()
    }

    pub fn set(&mut self, id: usize, body: Vec<u8>) {
        self.objects[id - 1] = body;
    }

    pub fn add(&mut self, body: impl Into<Vec<u8>>) -> usize {
        self.objects.push(body.into());
        self.objects.len()
    }

    /// A Flate-compressed stream; `extra` is more dictionary entries.
    pub fn add_stream(&mut self, extra: &str, data: &[u8]) -> usize {
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, 6);
        let mut body = format!(
            "<< /Length {} /Filter /FlateDecode {extra} >>\nstream\n",
            packed.len()
        )
        .into_bytes();
        body.extend_from_slice(&packed);
        body.extend_from_slice(b"\nendstream");
        self.add(body)
    }

    /// The whole file, with `root` as the catalog and `info` as the
    /// document information dictionary.
    pub fn finish(self, root: usize, info: usize) -> Vec<u8> {
        // The binary comment line tells transfer tools the file is binary.
        let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (i, body) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let mut t = format!("xref\n0 {}\n0000000000 65535 f \n", self.objects.len() + 1);
        for o in offsets {
            // Each entry is exactly 20 bytes: offset, generation, "n", space + LF.
            let _ = writeln!(t, "{o:010} 00000 n ");
        }
        let _ = write!(
            t,
            "trailer\n<< /Size {} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.objects.len() + 1
        );
        out.extend_from_slice(t.as_bytes());
        out
    }
}

/// A PDF literal string `( … )` from WinAnsi bytes, escaping `\ ( )` and
/// writing bytes outside printable ASCII in octal.
pub fn literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('(');
    for &b in bytes {
        match b {
            b'\\' | b'(' | b')' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7E => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s.push(')');
    s
}

/// A text string for the Info dictionary: ASCII only, others as `?`.
pub fn info_string(text: &str) -> String {
    let ascii: Vec<u8> = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c as u8
            } else {
                b'?'
            }
        })
        .collect();
    literal(&ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_escapes() {
        assert_eq!(literal(b"a(b)\\c"), "(a\\(b\\)\\\\c)");
        assert_eq!(literal(&[0xD7, b'\n']), "(\\327\\012)");
        assert_eq!(info_string("Ann é"), "(Ann ?)");
    }

    #[test]
    fn xref_offsets_point_at_objects() {
        let mut w = PdfWriter::default();
        let a = w.add("<< /Type /Catalog >>");
        let b = w.add("<< /Producer (x) >>");
        let pdf = w.finish(a, b);
        // Work on bytes: the binary comment line is not UTF-8.
        let find = |needle: &[u8]| {
            pdf.windows(needle.len())
                .rposition(|w| w == needle)
                .unwrap()
        };
        let after = &pdf[find(b"startxref\n") + 10..];
        let digits: Vec<u8> = after
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        let start: usize = String::from_utf8(digits).unwrap().parse().unwrap();
        assert!(pdf[start..].starts_with(b"xref\n0 3\n"));
        let table = String::from_utf8(pdf[start..].to_vec()).unwrap();
        let entries: Vec<&str> = table.lines().skip(3).take(2).collect();
        for (i, e) in entries.iter().enumerate() {
            let off: usize = e[..10].parse().unwrap();
            assert!(pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()));
        }
    }
}
