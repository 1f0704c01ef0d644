//! `multipart/related` as DICOMweb uses it (RFC 2387, framing of RFC 2046):
//! the boundary of a request's Content-Type, the parts of a body held in
//! memory (it is under the upload limit), and a random boundary for replies.

use crate::error::{AppError, AppResult};
use bytes::Bytes;

/// The `type` and `boundary` parameters of a `multipart/related` Content-Type.
pub struct Related {
    pub type_: Option<String>,
    pub boundary: String,
}

/// The longest boundary accepted: RFC 2046 says at most 70 characters, but
/// Orthanc's DICOMweb plugin sends 73 (two UUIDs joined), and a client must
/// work unchanged.
const MAX_BOUNDARY: usize = 256;

/// Reads a request's Content-Type: it must be `multipart/related` with a
/// boundary of 1 to [`MAX_BOUNDARY`] characters.
pub fn content_type(value: Option<&str>) -> Result<Related, String> {
    let value =
        value.ok_or("no Content-Type: send multipart/related; type=\"application/dicom\"")?;
    let mut pieces = value.split(';');
    let media = pieces.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("multipart/related") {
        return Err(format!(
            "Content-Type {media:?} is not multipart/related; type=\"application/dicom\""
        ));
    }
    let (mut type_, mut boundary) = (None, None);
    for p in pieces {
        let Some((name, v)) = p.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "type" => type_ = Some(v),
            "boundary" => boundary = Some(v),
            _ => {}
        }
    }
    let boundary = boundary.ok_or("the multipart/related Content-Type has no boundary")?;
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
        return Err(format!(
            "the multipart boundary must be 1 to {MAX_BOUNDARY} characters"
        ));
    }
    Ok(Related { type_, boundary })
}

/// One part: its headers (lower-case names) and content.
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The parts of `body`, framed by `boundary`. Text before the first
/// delimiter (a preamble) and after the closing one is ignored; a body
/// without a first delimiter, a part without its header end, or without the
/// closing delimiter (`--boundary--`) is a 400.
pub fn parse(body: &Bytes, boundary: &str) -> AppResult<Vec<Part>> {
    let bad = |what: &str| {
        AppError::bad_request(format!(
            "malformed multipart/related body: {what} (boundary {boundary:?})"
        ))
    };
    let dash = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let first = if body.starts_with(dash.as_bytes()) {
        0
    } else {
        find(body, delimiter.as_bytes(), 0).ok_or_else(|| bad("no delimiter line"))? + 2
    };
    let mut pos = first + dash.len();
    let mut parts = Vec::new();
    loop {
        // After a delimiter: `--` closes the body, else CRLF opens a part.
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding (spaces, tabs) may follow a delimiter.
        while matches!(body.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err(bad("a delimiter line does not end in CRLF"));
        }
        pos += 2;
        let next = find(body, delimiter.as_bytes(), pos)
            .ok_or_else(|| bad("the closing delimiter is missing"))?;
        let (headers, start) = if body[pos..].starts_with(b"\r\n") {
            (Vec::new(), pos + 2)
        } else {
            let head_end = find(body, b"\r\n\r\n", pos)
                .filter(|&e| e < next)
                .ok_or_else(|| bad("a part has no blank line after its headers"))?;
            (headers(&body[pos..head_end])?, head_end + 4)
        };
        let end = find(body, delimiter.as_bytes(), start)
            .ok_or_else(|| bad("the closing delimiter is missing"))?;
        parts.push(Part {
            headers,
            body: body.slice(start..end),
        });
        pos = end + delimiter.len();
    }
}

fn headers(raw: &[u8]) -> AppResult<Vec<(String, String)>> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| AppError::bad_request("a multipart part's headers are not UTF-8"))?;
    let mut out = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| {
            AppError::bad_request("a multipart part has a header line without a colon")
        })?;
        out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(out)
}

/// A boundary for a reply: random, so no stored file contains it by chance.
pub fn new_boundary() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let n: u128 = rng.random();
    format!("carina-{n:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Bytes {
        Bytes::from(s.replace('\n', "\r\n"))
    }

    #[test]
    fn reads_parts_with_or_without_a_preamble() {
        let b = body("\n--xx\nContent-Type: application/dicom\n\nAB\n--xx\n\nCD\n--xx--\n");
        let parts = parse(&b, "xx").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(&parts[0].body[..], b"AB");
        assert_eq!(parts[0].header("content-type"), Some("application/dicom"));
        assert_eq!(&parts[1].body[..], b"CD");
        let b = body("--xx\nContent-Type: a/b\n\nAB\n--xx--");
        assert_eq!(parse(&b, "xx").unwrap().len(), 1);
    }

    #[test]
    fn refuses_broken_framing() {
        for bad in [
            "no delimiter at all",
            "--yy\n\nAB\n--yy--",
            "--xx\nContent-Type: a/b\n\nAB without the end",
            "--xx junk\n\nAB\n--xx--",
        ] {
            assert!(parse(&body(bad), "xx").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_the_content_type() {
        let r = content_type(Some(
            "multipart/related; type=\"application/dicom\"; boundary=\"a b\"",
        ))
        .unwrap();
        assert_eq!(r.boundary, "a b");
        assert_eq!(r.type_.as_deref(), Some("application/dicom"));
        assert!(content_type(Some("multipart/related; type=application/dicom")).is_err());
        assert!(content_type(Some("application/dicom")).is_err());
        assert!(content_type(None).is_err());
        assert!(new_boundary().len() > 30);
    }
}
