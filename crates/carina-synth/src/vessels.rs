//! Lung markings: branching pulmonary vessels that start thick at the hila
//! and thin out towards the periphery, where they become invisible.

use crate::anatomy::{Anatomy, Side};
use crate::field::{Field, paint_segment};
use rand::Rng;

/// Paints both lungs' vessel trees (attenuation) into a new field.
pub fn render_vessels<R: Rng>(a: &Anatomy, w: usize, h: usize, rng: &mut R) -> Field {
    let mut f = Field::new(w, h);
    let strength = rng.random_range(0.6..1.2f32);
    for side in [Side::Right, Side::Left] {
        let (hu, hv) = a.hila[side.index()];
        let roots = rng.random_range(12..18);
        for r in 0..roots {
            // Fan the roots from straight up to straight down, through lateral.
            let t = (r as f32 + rng.random_range(0.0..1.0)) / roots as f32;
            let ang = -2.4 + t * 2.6 + rng.random_range(-0.15..0.15);
            // `ang` is measured from "lateral": dir.u = sign * cos, dir.v = sin.
            let dir = (side.sign() * ang.cos(), ang.sin());
            // Start a little out from the hilum so the roots do not pile up
            // into one bright spot.
            let off = rng.random_range(0.02..0.07);
            let start = (hu + dir.0 * off, hv + dir.1 * off);
            branch(a, &mut f, rng, start, dir, 0.011, 0.04 * strength, 0);
        }
    }
    f
}

#[allow(clippy::too_many_arguments)]
fn branch<R: Rng>(
    a: &Anatomy,
    f: &mut Field,
    rng: &mut R,
    mut p: (f32, f32),
    mut dir: (f32, f32),
    radius: f32,
    density: f32,
    depth: u32,
) {
    let fr = &a.frame;
    let steps = rng.random_range(3..6);
    let step_len = rng.random_range(0.035..0.06) * (1.0 - 0.12 * depth as f32);
    for _ in 0..steps {
        let turn = rng.random_range(-0.35f32..0.35);
        let (c, s) = (turn.cos(), turn.sin());
        dir = (dir.0 * c - dir.1 * s, dir.0 * s + dir.1 * c);
        let q = (p.0 + dir.0 * step_len, p.1 + dir.1 * step_len);
        let (_, m) = a.margins_at(q.0, q.1);
        if m.min() < 0.01 {
            return;
        }
        let pa = fr.to_image(p.0, p.1);
        let pb = fr.to_image(q.0, q.1);
        let sigma = (radius * fr.px_per_unit()).max(1.0);
        // Fade towards the pleura: peripheral vessels are below resolution.
        let fade = (m.wall / 0.12).clamp(0.15, 1.0);
        paint_segment(f, pa, pb, sigma, density * fade);
        p = q;
    }
    if depth < 5 && radius > 0.002 {
        let n = if depth < 2 { 2 } else { rng.random_range(1..3) };
        for _ in 0..n {
            let spread =
                rng.random_range(0.25f32..0.6) * if rng.random::<bool>() { 1.0 } else { -1.0 };
            let (c, s) = (spread.cos(), spread.sin());
            let d2 = (dir.0 * c - dir.1 * s, dir.0 * s + dir.1 * c);
            branch(a, f, rng, p, d2, radius * 0.72, density * 0.8, depth + 1);
        }
    }
}
