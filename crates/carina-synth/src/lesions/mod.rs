//! Findings drawn on top of an anatomy: each returns the attenuation it
//! adds and the pixels its ground-truth box must enclose.
//!
//! The same renderers serve procedural images and real backgrounds: they
//! read the image through a [`Scene`] (attenuation, how much air each pixel
//! holds, the lung template) and so match the local contrast either way.

mod opacity;
mod pleura;

use crate::anatomy::{Anatomy, Margins, Side};
use crate::field::Field;
use crate::frame::{NIH_APEX_Y, NIH_U_PER_IMAGE, NIH_V_PER_IMAGE};
use crate::stats::{TargetBox, sample_target};
use carina_core::{BBox, Finding};
use rand::Rng;

pub use pleura::cardiomegaly_heart;

/// What a finding renderer may look at.
pub struct Scene<'a> {
    pub anat: &'a Anatomy,
    pub w: usize,
    pub h: usize,
    /// Attenuation of the image so far.
    pub atten: &'a Field,
    /// The same, blurred enough to wipe out lung markings.
    pub smooth: &'a Field,
    /// Attenuation missing because of air: what filling the air spaces adds.
    pub deficit: &'a Field,
    /// True for procedural images (the heart is drawn by the anatomy).
    pub procedural: bool,
}

impl Scene<'_> {
    /// Opacity that fills a share `k` of the air at pixel `i`, plus a
    /// little tissue density `extra` wherever there is air to fill (and
    /// none where there is not, e.g. outside the lungs of a real image).
    #[inline]
    pub fn fill(&self, i: usize, k: f32, extra: f32) -> f32 {
        let d = self.deficit.data[i];
        k * d + extra * (d / 0.12).min(1.0)
    }
}

/// One rendered finding.
pub struct Lesion {
    pub finding: Finding,
    /// Attenuation to add to the image.
    pub delta: Field,
    /// Where the finding is, for its box (pixels above `thr` × max).
    pub extent: Field,
    pub thr: f32,
}

impl Lesion {
    /// The tight box around the finding, `None` when it is too small to
    /// annotate (under 4 px a side) or absent.
    pub fn bbox(&self) -> Option<BBox> {
        let m = self.extent.max();
        if m <= 1e-6 {
            return None;
        }
        let t = m * self.thr;
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..self.extent.h {
            let row = &self.extent.data[y * self.extent.w..(y + 1) * self.extent.w];
            for (x, v) in row.iter().enumerate() {
                if *v >= t {
                    x0 = x0.min(x);
                    x1 = x1.max(x);
                    y0 = y0.min(y);
                    y1 = y1.max(y);
                }
            }
        }
        if x0 == usize::MAX || x1 + 1 - x0 < 4 || y1 + 1 - y0 < 4 {
            return None;
        }
        BBox::new(x0 as f64, y0 as f64, (x1 + 1) as f64, (y1 + 1) as f64).ok()
    }
}

/// A NIH-style target box in the patient frame.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub side: Side,
    pub u: f32,
    pub v: f32,
    pub du: f32,
    pub dv: f32,
}

impl From<TargetBox> for Target {
    fn from(t: TargetBox) -> Self {
        let side = Side::from_image_right(t.image_right);
        Self {
            side,
            // +u is the image right.
            u: if t.image_right { 1.0 } else { -1.0 } * t.dx * NIH_U_PER_IMAGE,
            v: (t.cy - NIH_APEX_Y) * NIH_V_PER_IMAGE,
            du: t.w * NIH_U_PER_IMAGE,
            dv: t.h * NIH_V_PER_IMAGE,
        }
    }
}

/// Draws a target for `f` whose centre lies inside a lung with at least
/// `margin` to spare (per the anatomy); falls back to a random lung point.
pub fn target_in_lung<R: Rng>(rng: &mut R, a: &Anatomy, f: Finding, margin: f32) -> Target {
    for _ in 0..40 {
        let t: Target = sample_target(rng, f).into();
        let (_, m) = a.margins_at(t.u, t.v);
        if m.min() > margin {
            return t;
        }
    }
    let mut t: Target = sample_target(rng, f).into();
    for _ in 0..200 {
        let u = rng.random_range(-0.9f32..0.9);
        let v = rng.random_range(0.1f32..1.0);
        let (side, m) = a.margins_at(u, v);
        if m.min() > margin {
            t.side = side;
            t.u = u;
            t.v = v;
            break;
        }
    }
    t
}

/// Like [`target_in_lung`], and also where the image itself is lung-dark
/// (the anatomy is only a template on real radiographs).
pub fn target_in_air<R: Rng>(rng: &mut R, s: &Scene, f: Finding, margin: f32) -> Target {
    let dmax = s.deficit.max().max(1e-6);
    let mut t = target_in_lung(rng, s.anat, f, margin);
    for _ in 0..30 {
        let (x, y) = s.anat.frame.to_image(t.u, t.v);
        let inside = x >= 0.0 && y >= 0.0 && (x as usize) < s.w && (y as usize) < s.h;
        if inside && s.deficit.at(x as usize, y as usize) > 0.35 * dmax {
            break;
        }
        t = target_in_lung(rng, s.anat, f, margin);
    }
    t
}

/// Evaluates `g(u, v, x, y)` over the pixels covering a patient-frame
/// rectangle and adds the result into `f`.
pub fn paint(
    s: &Scene,
    f: &mut Field,
    rect: (f32, f32, f32, f32),
    mut g: impl FnMut(f32, f32, usize) -> f32,
) {
    let fr = &s.anat.frame;
    let Some((x0, y0, x1, y1)) = fr.pixel_rect(rect.0, rect.1, rect.2, rect.3, s.w, s.h) else {
        return;
    };
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (u, v) = fr.to_patient(x as f32, y as f32);
            let i = y * s.w + x;
            f.data[i] += g(u, v, i);
        }
    }
}

/// Margins in the lung of a given side (negative outside it).
#[inline]
pub fn side_margins(a: &Anatomy, side: Side, u: f32, v: f32) -> Margins {
    let s = side.sign() * u;
    if s < 0.0 {
        return Margins {
            wall: -1.0,
            dome: -1.0,
            medial: s,
        };
    }
    a.lung(side).margins(s, v)
}

/// Atelectasis on a given side (procedural images draw its volume loss).
pub fn atelectasis_on<R: Rng>(s: &Scene, rng: &mut R, side: Option<Side>) -> Lesion {
    opacity::atelectasis(s, rng, side)
}

/// Renders finding `f` into the scene.
pub fn render<R: Rng>(s: &Scene, f: Finding, rng: &mut R) -> Lesion {
    match f {
        Finding::NoduleMass => opacity::nodule(s, rng),
        Finding::Consolidation => opacity::airspace(s, rng, true),
        Finding::Infiltration => opacity::airspace(s, rng, false),
        Finding::PulmonaryFibrosis => opacity::fibrosis(s, rng),
        Finding::Atelectasis => opacity::atelectasis(s, rng, None),
        Finding::PleuralEffusion => pleura::effusion(s, rng),
        Finding::Pneumothorax => pleura::pneumothorax(s, rng),
        Finding::PleuralThickening => pleura::thickening(s, rng),
        Finding::Cardiomegaly => pleura::cardiomegaly(s, rng),
    }
}
