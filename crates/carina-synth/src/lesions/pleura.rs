//! Pleural findings (effusion, pneumothorax, thickening) and the enlarged
//! heart.

use super::{Lesion, Scene, Target, paint, side_margins};
use crate::anatomy::{Anatomy, Heart, Side};
use crate::field::{Field, smoothstep};
use crate::stats::sample_target;
use carina_core::Finding;
use rand::Rng;

fn side_target<R: Rng>(rng: &mut R, f: Finding) -> Target {
    sample_target(rng, f).into()
}

/// Fluid at a lung base: homogeneous opacity, densest at the bottom,
/// filling the costophrenic angle and hiding the dome, with a meniscus
/// that climbs the lateral chest wall.
pub fn effusion<R: Rng>(s: &Scene, rng: &mut R) -> Lesion {
    let a = s.anat;
    let t = side_target(rng, Finding::PleuralEffusion);
    let side = t.side;
    let l = a.lung(side);
    let (_, cp_v) = l.cp_angle();
    // Height of the fluid above the costophrenic angle, from the NIH box.
    let height = (t.dv * rng.random_range(0.45..0.75)).clamp(0.1, 0.6);
    let top = cp_v - height;
    let meniscus = rng.random_range(0.1..0.22) * (0.5 + height);
    let (med, lat) = (l.med_bot, l.sc + l.a);
    let fill = rng.random_range(0.85..1.0);
    let fade = rng.random_range(0.06..0.14);
    let mut delta = Field::new(s.w, s.h);
    let sg = side.sign();
    let (u0, u1) = if sg < 0.0 {
        (-lat - 0.1, 0.0)
    } else {
        (0.0, lat + 0.1)
    };
    paint(
        s,
        &mut delta,
        (u0, top - meniscus - 0.05, u1, cp_v + 0.1),
        |u, v, i| {
            let m = side_margins(a, side, u, v);
            if m.min() <= -0.015 {
                return 0.0;
            }
            let sv = sg * u;
            let x = ((sv - med) / (lat - med)).clamp(0.0, 1.0);
            // The fluid's upper surface, higher laterally.
            let surface = top - meniscus * x * x;
            let f = smoothstep(surface - 0.01, surface + fade, v);
            f * smoothstep(-0.015, 0.01, m.min()) * s.fill(i, fill, 0.03)
        },
    );
    Lesion {
        finding: Finding::PleuralEffusion,
        extent: delta.blurred(1.5),
        delta,
        thr: 0.3,
    }
}

/// Air between chest wall and lung: a lucent apical / lateral rim without
/// lung markings, bounded by the thin white visceral pleural line.
pub fn pneumothorax<R: Rng>(s: &Scene, rng: &mut R) -> Lesion {
    let a = s.anat;
    let t = side_target(rng, Finding::Pneumothorax);
    let side = t.side;
    let bottom = (t.v + t.dv * 0.5).clamp(0.3, 0.95);
    let gap = (t.du * rng.random_range(0.35..0.6)).clamp(0.035, 0.22);
    let ppu = a.frame.px_per_unit();
    let line_w = rng.random_range(0.6..1.1) / ppu;
    let lucency = rng.random_range(0.15..0.35);
    let mut delta = Field::new(s.w, s.h);
    let mut extent = Field::new(s.w, s.h);
    let sg = side.sign();
    let (u0, u1) = if sg < 0.0 { (-1.1, 0.0) } else { (0.0, 1.1) };
    let rect = (u0, -0.1, u1, bottom + 0.05);
    let fr = &a.frame;
    let Some((x0, y0, x1, y1)) = fr.pixel_rect(rect.0, rect.1, rect.2, rect.3, s.w, s.h) else {
        return Lesion {
            finding: Finding::Pneumothorax,
            delta,
            extent,
            thr: 0.5,
        };
    };
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (u, v) = fr.to_patient(x as f32, y as f32);
            let m = side_margins(a, side, u, v);
            if m.min() <= -0.01 {
                continue;
            }
            // Gap largest at the apex, closing towards `bottom`.
            let taper = smoothstep(bottom, bottom - 0.3, v);
            let g = gap * taper;
            if g < 0.004 {
                continue;
            }
            let wall = m.wall.min(m.dome + 0.05);
            let inside = smoothstep(-0.01, 0.004, m.min());
            // Only where there is lung (air) to collapse: on real images
            // the template may reach beyond it.
            let air = smoothstep(0.0, 0.05, s.deficit.data[y * s.w + x]);
            let rim = smoothstep(g + 0.003, g - 0.003, wall) * inside * air;
            let line =
                (-((wall - g) / line_w).powi(2)).exp() * inside * air * smoothstep(0.0, 0.01, g);
            let i = y * s.w + x;
            // No markings in the rim (the smoothed image), more air, and the
            // pleural line.
            delta.data[i] = rim
                * (s.smooth.data[i] - s.atten.data[i] - lucency * s.deficit.data[i])
                + 0.07 * line;
            extent.data[i] = rim.max(line);
        }
    }
    Lesion {
        finding: Finding::Pneumothorax,
        delta,
        extent,
        thr: 0.5,
    }
}

/// A smooth soft-tissue band along the lateral chest wall or over the
/// apex (an apical cap).
pub fn thickening<R: Rng>(s: &Scene, rng: &mut R) -> Lesion {
    let a = s.anat;
    let t = side_target(rng, Finding::PleuralThickening);
    let side = t.side;
    let (v0, v1) = ((t.v - t.dv * 0.5).max(-0.05), (t.v + t.dv * 0.5).min(1.0));
    let thick = (t.du * rng.random_range(0.3..0.6)).clamp(0.018, 0.07);
    let fill = rng.random_range(0.8..1.0);
    let lumpy = crate::field::Noise::new(rng, 16);
    let mut delta = Field::new(s.w, s.h);
    let sg = side.sign();
    let (u0, u1) = if sg < 0.0 { (-1.1, 0.0) } else { (0.0, 1.1) };
    paint(s, &mut delta, (u0, v0 - 0.05, u1, v1 + 0.05), |u, v, i| {
        let m = side_margins(a, side, u, v);
        if m.min() <= -0.01 {
            return 0.0;
        }
        let along = smoothstep(v0, v0 + 0.06, v) * smoothstep(v1, v1 - 0.06, v);
        let th = thick * along * (1.0 + 0.25 * lumpy.get(v * 8.0, u * 3.0));
        let band = smoothstep(th + 0.004, th - 0.004, m.wall) * smoothstep(-0.01, 0.005, m.min());
        band * s.fill(i, fill, 0.08)
    });
    Lesion {
        finding: Finding::PleuralThickening,
        extent: delta.clone(),
        delta,
        thr: 0.3,
    }
}

/// An enlarged heart (cardiothoracic ratio 0.55..0.72) placed from the NIH
/// cardiomegaly box statistics, starting from the patient's normal heart.
pub fn cardiomegaly_heart<R: Rng>(a: &Anatomy, rng: &mut R) -> Heart {
    let t = side_target(rng, Finding::Cardiomegaly);
    let l = a.lung(Side::Right);
    let thorax = 2.0 * (l.sc + l.a);
    let width = t.du.clamp(0.55 * thorax, 0.72 * thorax);
    let right_share = rng.random_range(0.3..0.4);
    let (r_right, r_left) = (width * right_share, width * (1.0 - right_share));
    // Box centre from the statistics (mostly on the patient's left).
    let centre = t.u.clamp(0.05, 0.3);
    let height = t.dv.clamp(0.6, 0.85);
    let r_top = height * rng.random_range(0.5..0.56);
    let r_bot = height - r_top;
    // Its lower border sits just under the left dome.
    let dome = a.lungs[1].dome_top;
    let v = (t.v - (r_bot - r_top) * 0.5).clamp(dome + 0.03 - r_bot, dome + 0.2 - r_bot);
    Heart {
        u: centre - (r_left - r_right) * 0.5,
        v,
        r_right,
        r_left,
        r_top,
        r_bot,
        shear: a.heart.shear,
    }
}

/// Cardiomegaly: in procedural images the anatomy already has the enlarged
/// heart and this only boxes it; on real backgrounds the enlarged heart is
/// drawn as soft-tissue density where the lungs were.
pub fn cardiomegaly<R: Rng>(s: &Scene, rng: &mut R) -> Lesion {
    let a = s.anat;
    let heart = if s.procedural {
        a.heart
    } else {
        cardiomegaly_heart(a, rng)
    };
    let (u0, v0, u1, v1) = heart.extent();
    let mut delta = Field::new(s.w, s.h);
    let mut extent = Field::new(s.w, s.h);
    paint(
        s,
        &mut extent,
        (u0 - 0.05, v0 - 0.05, u1 + 0.05, v1 + 0.05),
        |u, v, _| {
            if heart.thickness(u, v) > 0.05 {
                1.0
            } else {
                0.0
            }
        },
    );
    if !s.procedural {
        paint(
            s,
            &mut delta,
            (u0 - 0.05, v0 - 0.05, u1 + 0.05, v1 + 0.05),
            |u, v, i| {
                let t = heart.thickness(u, v);
                smoothstep(0.0, 0.5, t) * 0.8 * s.deficit.data[i]
            },
        );
    }
    Lesion {
        finding: Finding::Cardiomegaly,
        delta,
        extent,
        thr: 0.5,
    }
}
