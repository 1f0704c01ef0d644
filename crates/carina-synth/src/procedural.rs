//! Procedural mode: a whole PA chest radiograph, anatomy and findings,
//! from a seed.

use crate::anatomy::{Anatomy, Side};
use crate::display::{Exposure, expose};
use crate::lesions::{self, Scene, cardiomegaly_heart};
use crate::render::render_base;
use crate::vessels::render_vessels;
use crate::{Annotated, Rendered};
use carina_core::Finding;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Renders one procedural radiograph whose longer side is `size` pixels,
/// showing `findings` (a finding may appear several times).
pub fn render_procedural(seed: u64, size: usize, findings: &[Finding]) -> Rendered {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Detectors often see padded, non-square radiographs: vary the aspect.
    let (w, h) = if rng.random::<f32>() < 0.5 {
        (size, size)
    } else {
        let r = rng.random_range(0.8f32..1.25);
        if r < 1.0 {
            ((size as f32 * r).round() as usize, size)
        } else {
            (size, (size as f32 / r).round() as usize)
        }
    };
    let mut anat = Anatomy::sample(&mut rng, w, h);
    if findings.contains(&Finding::Cardiomegaly) {
        anat.heart = cardiomegaly_heart(&anat, &mut rng);
    }
    // Atelectasis with volume loss pulls the dome up and the mediastinum
    // over on its side; the atelectasis itself is drawn on that side.
    let mut atelectasis_side = None;
    if findings.contains(&Finding::Atelectasis) {
        let side = if rng.random::<bool>() {
            Side::Right
        } else {
            Side::Left
        };
        if rng.random::<f32>() < 0.5 {
            anat.lungs[side.index()].dome_top -= rng.random_range(0.05..0.1);
            anat.heart.u += side.sign() * rng.random_range(0.01..0.04);
        }
        atelectasis_side = Some(side);
    }
    let mut base = render_base(&anat, w, h, &mut rng);
    let vessels = render_vessels(&anat, w, h, &mut rng);
    for ((a, v), l) in base
        .atten
        .data
        .iter_mut()
        .zip(&vessels.data)
        .zip(&base.lung.data)
    {
        *a += v * l;
    }
    // Only a pneumothorax needs the markings wiped out.
    let smooth = if findings.contains(&Finding::Pneumothorax) {
        base.atten.blurred(1.8 * size as f32 / 512.0)
    } else {
        base.atten.clone()
    };
    let scene = Scene {
        anat: &anat,
        w,
        h,
        atten: &base.atten,
        smooth: &smooth,
        deficit: &base.deficit,
        procedural: true,
    };
    let mut total = base.atten.clone();
    let mut annotations = Vec::new();
    for &f in findings {
        let lesion = if f == Finding::Atelectasis {
            lesions::atelectasis_on(&scene, &mut rng, atelectasis_side)
        } else {
            lesions::render(&scene, f, &mut rng)
        };
        for (t, d) in total.data.iter_mut().zip(&lesion.delta.data) {
            *t += d;
        }
        if let Some(bbox) = lesion.bbox() {
            annotations.push(Annotated { finding: f, bbox });
        }
    }
    let exposure = Exposure::sample(&mut rng, w.max(h));
    let image = expose(&total, &exposure, &mut rng);
    Rendered {
        image,
        annotations,
        orig_width: w as u32,
        orig_height: h as u32,
        scale: 1.0,
    }
}
