//! Parenchymal findings: nodules and masses, air-space opacities
//! (consolidation, infiltration), reticulation (fibrosis), atelectasis.

use super::{Lesion, Scene, paint, side_margins, target_in_air};
use crate::anatomy::Side;
use crate::field::{Field, Noise, paint_segment, smoothstep};
use carina_core::Finding;
use rand::Rng;

fn lesion(s: &Scene, finding: Finding, delta: Field, extent: Option<Field>, thr: f32) -> Lesion {
    let extent = extent.unwrap_or_else(|| delta.clone());
    let _ = s;
    Lesion {
        finding,
        delta,
        extent,
        thr,
    }
}

/// A round opacity with a soft, slightly lobulated edge; larger ones
/// (masses) are denser because the ray crosses more tissue.
pub fn nodule<R: Rng>(s: &Scene, rng: &mut R) -> Lesion {
    let a = s.anat;
    let fr = &a.frame;
    let t = target_in_air(rng, s, Finding::NoduleMass, 0.05);
    let ppu = fr.px_per_unit();
    // Radius in patient units from the NIH box size, kept inside the chest.
    let r = (0.25 * (t.du + t.dv)).clamp(3.0 / ppu, 0.22);
    let lob = Noise::new(rng, 8);
    let lob_amp = rng.random_range(0.03..0.14);
    let edge = rng.random_range(0.06..0.25);
    let peak = (0.1 + 0.7 * r).min(0.3) * rng.random_range(0.8..1.2);
    let mut delta = Field::new(s.w, s.h);
    let m = r * (1.0 + lob_amp + edge) + 0.01;
    let (cx, cy) = (t.u, t.v);
    paint(
        s,
        &mut delta,
        (cx - m, cy - m, cx + m, cy + m),
        |u, v, _| {
            let (du, dv) = (u - cx, v - cy);
            let ang = dv.atan2(du);
            let rr = r * (1.0 + lob_amp * lob.get(ang.cos() * 2.0 + 4.0, ang.sin() * 2.0 + 4.0));
            let d = (du * du + dv * dv).sqrt() / rr;
            let body = (1.0 - d * d).max(0.0).sqrt();
            let soft = smoothstep(1.0 + edge, 1.0 - edge, d);
            let inside = a.lung_mask(u, v);
            peak * (0.6 * body + 0.4 * soft) * (0.55 + 0.45 * inside)
        },
    );
    lesion(s, Finding::NoduleMass, delta, None, 0.2)
}

/// Air-space opacity: dense and confluent with air bronchograms
/// (consolidation), or faint, patchy and ill-defined (infiltration).
pub fn airspace<R: Rng>(s: &Scene, rng: &mut R, dense: bool) -> Lesion {
    let a = s.anat;
    let f = if dense {
        Finding::Consolidation
    } else {
        Finding::Infiltration
    };
    let t = target_in_air(rng, s, f, 0.06);
    let (ru, rv) = (
        (t.du * 0.5).clamp(0.08, 0.45),
        (t.dv * 0.5).clamp(0.08, 0.5),
    );
    let noise = Noise::new(rng, 32);
    let ph = rng.random_range(0.0..32.0f32);
    let (fill, freq) = if dense {
        (rng.random_range(0.7..0.95), rng.random_range(4.0..7.0))
    } else {
        (rng.random_range(0.3..0.5), rng.random_range(6.0..10.0))
    };
    let mut delta = Field::new(s.w, s.h);
    let side = t.side;
    let (cu, cv) = (t.u, t.v);
    paint(
        s,
        &mut delta,
        (cu - ru * 1.4, cv - rv * 1.4, cu + ru * 1.4, cv + rv * 1.4),
        |u, v, i| {
            let m = side_margins(a, side, u, v).min();
            if m <= -0.01 {
                return 0.0;
            }
            let e = 1.0 - ((u - cu) / ru).powi(2) - ((v - cv) / rv).powi(2);
            let n = noise.fbm(u * freq + ph, v * freq, 4);
            let patch = if dense {
                smoothstep(-0.05, 0.3, e + 0.45 * n)
            } else {
                smoothstep(0.0, 0.5, e * 0.8 + 0.7 * n) * smoothstep(-0.2, 0.2, e)
            };
            patch * smoothstep(-0.01, 0.02, m) * s.fill(i, fill, 0.02)
        },
    );
    if dense && rng.random::<f32>() < 0.7 {
        // Air bronchograms: air-filled bronchi stand out against the
        // opacified alveoli, branching away from the hilum.
        let mut br = Field::new(s.w, s.h);
        let (hu, hv) = a.hila[side.index()];
        let n = rng.random_range(2..5);
        for _ in 0..n {
            let mut p = (
                cu + rng.random_range(-0.4..0.4) * ru,
                cv + rng.random_range(-0.4..0.4) * rv,
            );
            let mut dir = (p.0 - hu, p.1 - hv);
            let l = (dir.0 * dir.0 + dir.1 * dir.1).sqrt().max(1e-3);
            dir = (dir.0 / l, dir.1 / l);
            for _ in 0..rng.random_range(3..6) {
                let turn = rng.random_range(-0.4f32..0.4);
                dir = (
                    dir.0 * turn.cos() - dir.1 * turn.sin(),
                    dir.0 * turn.sin() + dir.1 * turn.cos(),
                );
                let q = (p.0 + dir.0 * 0.05, p.1 + dir.1 * 0.05);
                let sigma = rng.random_range(0.6..1.0) * a.frame.su / 200.0;
                paint_segment(
                    &mut br,
                    a.frame.to_image(p.0, p.1),
                    a.frame.to_image(q.0, q.1),
                    sigma,
                    1.0,
                );
                p = q;
            }
        }
        let m = delta.max().max(1e-6);
        for (d, b) in delta.data.iter_mut().zip(&br.data) {
            // Only where the opacity is dense enough to show them.
            let k = smoothstep(0.4, 0.8, *d / m);
            *d *= 1.0 - 0.3 * b.min(1.0) * k;
        }
    }
    // Air-space disease has ill-defined margins.
    let delta = delta.blurred(1.5 * a.frame.su / 190.0);
    let extent = delta.blurred(3.0);
    lesion(s, f, delta, Some(extent), 0.3)
}

/// Reticulation: a fine net of lines, densest at the lung periphery and
/// bases, over a faint haze.
pub fn fibrosis<R: Rng>(s: &Scene, rng: &mut R) -> Lesion {
    let a = s.anat;
    let t = target_in_air(rng, s, Finding::PulmonaryFibrosis, 0.06);
    let (ru, rv) = (
        (t.du * 0.55).clamp(0.12, 0.45),
        (t.dv * 0.55).clamp(0.12, 0.5),
    );
    let noise = Noise::new(rng, 64);
    let ph = rng.random_range(0.0..64.0f32);
    // Cells of a few millimetres: about 22-34 per patient unit.
    let freq = rng.random_range(22.0..34.0);
    let strength = rng.random_range(0.15..0.3);
    let side = t.side;
    // Reticulation hugs the pleura: pull the centre towards the wall.
    let cu = t.u + side.sign() * 0.08;
    let cv = t.v;
    let mut delta = Field::new(s.w, s.h);
    paint(
        s,
        &mut delta,
        (cu - ru * 1.3, cv - rv * 1.3, cu + ru * 1.3, cv + rv * 1.3),
        |u, v, i| {
            let m = side_margins(a, side, u, v);
            if m.min() <= -0.01 {
                return 0.0;
            }
            let e = 1.0 - ((u - cu) / ru).powi(2) - ((v - cv) / rv).powi(2);
            let env =
                smoothstep(-0.1, 0.4, e) * (0.4 + 0.6 * smoothstep(0.3, 0.02, m.wall.min(m.dome)));
            let ridge = 1.0 - noise.fbm(u * freq + ph, v * freq, 2).abs() * 2.2;
            let lines = smoothstep(0.7, 0.95, ridge);
            env * smoothstep(-0.01, 0.015, m.min())
                * (strength * lines + 0.12)
                * s.fill(i, 1.0, 0.05)
        },
    );
    let extent = delta.blurred(4.0);
    lesion(s, Finding::PulmonaryFibrosis, delta, Some(extent), 0.3)
}

/// Atelectasis: plate-like (discoid) bands, or a segment collapsed into a
/// dense wedge with a sharp fissural edge (volume loss is drawn by the
/// anatomy in procedural images).
pub fn atelectasis<R: Rng>(s: &Scene, rng: &mut R, side: Option<Side>) -> Lesion {
    let a = s.anat;
    let mut t = target_in_air(rng, s, Finding::Atelectasis, 0.05);
    for _ in 0..20 {
        if side.is_none_or(|sd| sd == t.side) {
            break;
        }
        t = target_in_air(rng, s, Finding::Atelectasis, 0.05);
    }
    let side = t.side;
    let mut delta = Field::new(s.w, s.h);
    let (cu, cv) = (t.u, t.v);
    if rng.random::<f32>() < 0.55 {
        // Plates: thin, nearly horizontal bands.
        let half = (t.du * 0.5).clamp(0.08, 0.35);
        let tilt = rng.random_range(-0.35f32..0.35);
        let bands = if rng.random::<f32>() < 0.3 { 2 } else { 1 };
        for b in 0..bands {
            let off = b as f32 * rng.random_range(0.06..0.12);
            let th = rng.random_range(0.012..0.03);
            let (p0, p1) = (
                (cu - half * tilt.cos(), cv + off - half * tilt.sin()),
                (cu + half * tilt.cos(), cv + off + half * tilt.sin()),
            );
            let fill = rng.random_range(0.6..0.9);
            let m = half + th * 3.0;
            paint(
                s,
                &mut delta,
                (cu - m, cv + off - m, cu + m, cv + off + m),
                |u, v, i| {
                    let mg = side_margins(a, side, u, v).min();
                    if mg <= -0.01 {
                        return 0.0;
                    }
                    let (dx, dy) = (p1.0 - p0.0, p1.1 - p0.1);
                    let tt =
                        (((u - p0.0) * dx + (v - p0.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                    let (ex, ey) = (u - p0.0 - tt * dx, v - p0.1 - tt * dy);
                    let d = (ex * ex + ey * ey).sqrt();
                    // Thicker in the middle, tapering to the ends.
                    let thk = th * (1.0 - (2.0 * tt - 1.0).powi(2)).max(0.0).sqrt().max(0.3);
                    smoothstep(thk, thk * 0.4, d)
                        * smoothstep(-0.01, 0.02, mg)
                        * s.fill(i, fill, 0.04)
                },
            );
        }
    } else {
        // Collapsed segment: a wedge against the mediastinum or base,
        // sharply bounded by a fissure on one side.
        let (ru, rv) = ((t.du * 0.5).clamp(0.08, 0.3), (t.dv * 0.5).clamp(0.07, 0.3));
        let ang = rng.random_range(-0.8f32..0.8);
        let (nu, nv) = (ang.sin(), -ang.cos());
        let fill = rng.random_range(0.6..0.85);
        paint(
            s,
            &mut delta,
            (cu - ru * 1.2, cv - rv * 1.2, cu + ru * 1.2, cv + rv * 1.2),
            |u, v, i| {
                let mg = side_margins(a, side, u, v).min();
                if mg <= -0.01 {
                    return 0.0;
                }
                let e = 1.0 - ((u - cu) / ru).powi(2) - ((v - cv) / rv).powi(2);
                let fissure = (u - cu) * nu + (v - cv) * nv + 0.3 * rv;
                smoothstep(-0.05, 0.15, e)
                    * smoothstep(0.0, 0.012, fissure)
                    * smoothstep(-0.01, 0.02, mg)
                    * s.fill(i, fill, 0.03)
            },
        );
    }
    lesion(s, Finding::Atelectasis, delta, None, 0.3)
}
