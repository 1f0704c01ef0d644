//! Insert mode: synthetic findings drawn into real normal radiographs.
//!
//! The lungs are located from the image itself (dark fields either side of
//! a bright mediastinum), the anatomy template is fitted to them, and the
//! findings are blended in the attenuation domain so that they take on the
//! local contrast; noise is put back where the blend smoothed it away.

use crate::SynthError;
use crate::anatomy::Anatomy;
use crate::display::{atten_to_display, display_to_atten, gauss};
use crate::field::{Field, smoothstep};
use crate::frame::Frame;
use crate::lesions::{self, Scene};
use crate::{Annotated, Rendered};
use carina_core::Finding;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// A real radiograph, grey levels in [0, 1], already scaled so that its
/// longer side is the dataset's image size.
#[derive(Debug, Clone)]
pub struct Background {
    pub image: Field,
    pub orig_width: u32,
    pub orig_height: u32,
    pub scale: f64,
}

const EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "PNG"];

/// Reads every PNG / JPEG in `dir` (sorted by name, so runs are
/// reproducible) and scales it to `size`.
pub fn load_backgrounds(dir: &Path, size: usize) -> Result<Vec<Background>, SynthError> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| SynthError::Backgrounds(format!("cannot read {}: {e}", dir.display())))?;
    let mut paths: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(SynthError::Backgrounds(format!(
            "no PNG or JPEG images in {}",
            dir.display()
        )));
    }
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).map_err(|e| {
                SynthError::Backgrounds(format!("cannot read {}: {e}", p.display()))
            })?;
            background_from_bytes(&bytes, size).map_err(|e| {
                SynthError::Backgrounds(format!(
                    "{} is not a readable image: {e}",
                    p.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                ))
            })
        })
        .collect()
}

pub fn background_from_bytes(bytes: &[u8], size: usize) -> Result<Background, image::ImageError> {
    let img = image::load_from_memory(bytes)?.to_luma16();
    let (ow, oh) = img.dimensions();
    let scale = size as f64 / f64::from(ow.max(oh));
    let (w, h) = (
        ((f64::from(ow) * scale).round() as u32).clamp(1, size as u32),
        ((f64::from(oh) * scale).round() as u32).clamp(1, size as u32),
    );
    let small = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
    let mut f = Field::new(w as usize, h as usize);
    for (d, p) in f.data.iter_mut().zip(small.pixels()) {
        *d = f32::from(p.0[0]) / 65535.0;
    }
    Ok(Background {
        image: f,
        orig_width: ow,
        orig_height: oh,
        scale,
    })
}

fn argext(p: &[f32], lo: usize, hi: usize, max: bool) -> usize {
    let mut best = lo;
    for i in lo..hi.min(p.len()) {
        if (max && p[i] > p[best]) || (!max && p[i] < p[best]) {
            best = i;
        }
    }
    best
}

fn smooth1d(p: &[f32], r: usize) -> Vec<f32> {
    (0..p.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(r), (i + r + 1).min(p.len()));
            p[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect()
}

/// Fits the patient frame to a real PA radiograph from its intensity
/// profiles: the mediastinum is the bright column between two dark lungs;
/// the lungs' dark rows run from the apices to the domes.
pub fn estimate_frame(img: &Field) -> Frame {
    let (w, h) = (img.w, img.h);
    let (wf, hf) = (w as f32, h as f32);
    let fallback = Frame::new(wf * 0.5, hf * 0.13, wf * 0.36, hf * 0.5, 0.0);
    if w < 32 || h < 32 {
        return fallback;
    }
    let b = img.blurred(wf / 128.0);
    let cols: Vec<f32> = (0..w)
        .map(|x| {
            let (y0, y1) = ((h as f32 * 0.3) as usize, (h as f32 * 0.6) as usize);
            (y0..y1).map(|y| b.at(x, y)).sum::<f32>() / (y1 - y0) as f32
        })
        .collect();
    let cols = smooth1d(&cols, w / 64);
    let mid = argext(&cols, (wf * 0.38) as usize, (wf * 0.62) as usize, true);
    // The body's edges: going out from the mediastinum, where the profile
    // drops to air. The lungs' darkest columns are searched inside them.
    let air_level = 0.3 * cols[mid];
    let mut bl = mid;
    while bl > 0 && cols[bl] > air_level {
        bl -= 1;
    }
    let mut br = mid;
    while br < w - 1 && cols[br] > air_level {
        br += 1;
    }
    let inset = w / 40;
    let l_hi = mid.saturating_sub(w / 12);
    // A lung's darkest column lies within about a third of the width
    // from the midline (darker soft tissue or arms may lie further out).
    let reach = (wf * 0.33) as usize;
    let l_lo = (bl + inset)
        .max(mid.saturating_sub(reach))
        .min(l_hi.saturating_sub(1));
    let ll = argext(&cols, l_lo, l_hi, false);
    let r_lo = mid + w / 12;
    let r_hi = br.saturating_sub(inset).min(mid + reach).max(r_lo + 1);
    let rl = argext(&cols, r_lo, r_hi, false);
    // Walk out from a lung's darkest column to the chest wall: where the
    // profile has climbed a quarter of the way to the mediastinum (thin
    // children's chest walls are much darker than the mediastinum), but
    // never further than a lung can reach.
    let edge = |from: usize, step: isize| {
        let range = (cols[mid] - cols[from]).max(1e-6);
        let thr = cols[from] + 0.25 * range;
        let mut x = from as isize;
        while x > 0 && x < w as isize - 1 {
            let c = cols[x as usize];
            if c >= thr || (x - mid as isize).unsigned_abs() > reach + w / 10 {
                break;
            }
            x += step;
        }
        x as f32
    };
    let (el, er) = (edge(ll, -1), edge(rl, 1));
    let su = (((mid as f32 - el) + (er - mid as f32)) * 0.5 / 0.95).clamp(wf * 0.25, wf * 0.42);
    // Rows through the middle of the right (image-left) lung.
    let band = (su * 0.25) as usize;
    let rows: Vec<f32> = (0..h)
        .map(|y| {
            let (x0, x1) = (ll.saturating_sub(band), (ll + band).min(w - 1));
            (x0..=x1).map(|x| b.at(x, y)).sum::<f32>() / (x1 - x0 + 1) as f32
        })
        .collect();
    let rows = smooth1d(&rows, h / 24);
    let dark = argext(&rows, (hf * 0.25) as usize, (hf * 0.6) as usize, false);
    let bright_below = rows[dark..].iter().copied().fold(f32::MIN, f32::max);
    let thr_down = rows[dark] + 0.5 * (bright_below - rows[dark]);
    let mut dome = dark;
    while dome < h - 1 && rows[dome] < thr_down {
        dome += 1;
    }
    // The apex: going up from the darkest row, the last row where a fair
    // share of the right hemithorax is still as dark as lung (clavicles
    // and ribs cross the apex but never cover a whole row).
    let thr_lung = cols[ll] + 0.5 * (cols[mid] - cols[ll]);
    let (x0, x1) = (el.max(0.0) as usize, mid);
    let need = ((x1 - x0) as f32 * 0.12).max(2.0) as usize;
    // Air outside the body (the corners beside the neck) is darker still.
    let air = cols[ll] * 0.5;
    let dark_count = |y: usize| {
        (x0..x1)
            .filter(|&x| (air..thr_lung).contains(&b.at(x, y)))
            .count()
    };
    let mut apex = dark;
    while apex > 0 && dark_count(apex - 1) >= need {
        apex -= 1;
    }
    // Collimated radiographs show some neck above the apices.
    let apex = (apex as f32).clamp(hf * 0.07, hf * 0.35);
    let sv = (dome as f32 - apex).clamp(hf * 0.3, hf * 0.8);
    Frame::new(mid as f32, apex, su, sv, 0.0)
}

/// Estimated standard deviation of the image noise (median absolute
/// high-pass residual inside the lungs).
fn noise_sigma(img: &Field, lung: &Field) -> f32 {
    let low = img.blurred(1.0);
    let mut r: Vec<f32> = img
        .data
        .iter()
        .zip(&low.data)
        .zip(&lung.data)
        .filter(|(_, l)| **l > 0.5)
        .map(|((a, b), _)| (a - b).abs())
        .collect();
    if r.is_empty() {
        return 0.01;
    }
    let k = r.len() / 2;
    let (_, m, _) = r.select_nth_unstable_by(k, f32::total_cmp);
    (*m * 1.4826).clamp(0.002, 0.05)
}

/// Draws `findings` into background `bg`.
pub fn render_insert(bg: &Background, seed: u64, size: usize, findings: &[Finding]) -> Rendered {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (w, h) = (bg.image.w, bg.image.h);
    // Tone variation so the same background does not repeat exactly.
    let gamma = rng.random_range(0.85f32..1.18);
    let contrast = rng.random_range(0.92f32..1.08);
    let mut img = bg.image.clone();
    for v in &mut img.data {
        *v = (((*v).powf(gamma) - 0.5) * contrast + 0.5).clamp(0.0, 1.0);
    }
    let frame = estimate_frame(&img);
    let anat = Anatomy::typical(frame);
    let mut atten = Field::new(w, h);
    for (a, v) in atten.data.iter_mut().zip(&img.data) {
        *a = display_to_atten(*v);
    }
    let smooth = if findings.contains(&Finding::Pneumothorax) {
        atten.blurred(1.8 * size as f32 / 512.0)
    } else {
        atten.clone()
    };
    let soft_ref = soft_tissue_reference(&frame, &smooth);
    let (deficit, lung) = air_deficit(&anat, &atten, soft_ref, size);
    let sigma = noise_sigma(&img, &lung);
    let scene = Scene {
        anat: &anat,
        w,
        h,
        atten: &atten,
        smooth: &smooth,
        deficit: &deficit,
        procedural: false,
    };
    let mut total = atten.clone();
    let mut annotations = Vec::new();
    for &f in findings {
        let lesion = lesions::render(&scene, f, &mut rng);
        for (t, d) in total.data.iter_mut().zip(&lesion.delta.data) {
            *t += d;
        }
        if let Some(bbox) = lesion.bbox() {
            annotations.push(Annotated { finding: f, bbox });
        }
    }
    let mut out = img.clone();
    for ((o, t), orig) in out.data.iter_mut().zip(&total.data).zip(&img.data) {
        let v = atten_to_display(*t);
        let changed = ((v - orig).abs() * 10.0).min(1.0);
        *o = (v + changed * sigma * gauss(&mut rng)).clamp(0.0, 1.0);
    }
    Rendered {
        image: out,
        annotations,
        orig_width: bg.orig_width,
        orig_height: bg.orig_height,
        scale: bg.scale,
    }
}

/// Soft tissue reference attenuation: the median of the mediastinum between
/// apex and dome.
fn soft_tissue_reference(frame: &Frame, smooth: &Field) -> f32 {
    let mut med: Vec<f32> = Vec::new();
    for y in 0..smooth.h {
        for x in 0..smooth.w {
            let (u, v) = frame.to_patient(x as f32, y as f32);
            if u.abs() < 0.08 && (0.2..0.9).contains(&v) {
                med.push(smooth.at(x, y));
            }
        }
    }
    if med.is_empty() {
        display_to_atten(0.8)
    } else {
        let k = med.len() / 2;
        *med.select_nth_unstable_by(k, f32::total_cmp).1
    }
}

/// The air missing from the lungs (what an opacity filling them adds back)
/// and the soft lung mask, from the attenuation `atten` and the fitted
/// anatomy.
fn air_deficit(anat: &Anatomy, atten: &Field, soft_ref: f32, size: usize) -> (Field, Field) {
    let (w, h) = (atten.w, atten.h);
    let mut deficit = Field::new(w, h);
    let mut lung = Field::new(w, h);
    let sm2 = atten.blurred(3.0 * size as f32 / 512.0);
    let mut in_lung: Vec<f32> = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let (u, v) = anat.frame.to_patient(x as f32, y as f32);
            let (_, m) = anat.margins_at(u, v);
            let i = y * w + x;
            lung.data[i] = smoothstep(-0.05, 0.03, m.min());
            if m.min() > 0.05 {
                in_lung.push(sm2.data[i]);
            }
        }
    }
    // Only pixels about as dark as lung hold air: the template is rough,
    // and chest-wall soft tissue inside it must not be "filled".
    let lung_ref = if in_lung.is_empty() {
        soft_ref * 0.4
    } else {
        let k = in_lung.len() / 4;
        *in_lung.select_nth_unstable_by(k, f32::total_cmp).1
    };
    let (lo, hi) = (
        lung_ref + 0.35 * (soft_ref - lung_ref),
        lung_ref + 0.75 * (soft_ref - lung_ref),
    );
    for i in 0..w * h {
        let a = sm2.data[i];
        deficit.data[i] = (soft_ref - a).max(0.0) * lung.data[i] * smoothstep(hi, lo, a);
    }
    (deficit, lung)
}
