//! The shapes of a PA chest radiograph in the patient frame (see
//! [`crate::frame`]): lungs, heart, diaphragm, bones. Parameters are drawn
//! per image so that no two synthetic patients look alike.

use crate::field::smoothstep;
use crate::frame::Frame;
use rand::Rng;

/// Which lung; index 0 is the patient's right (the image LEFT in PA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Right,
    Left,
}

impl Side {
    /// Sign of `u` on this side.
    pub fn sign(self) -> f32 {
        match self {
            Side::Right => -1.0,
            Side::Left => 1.0,
        }
    }
    pub fn index(self) -> usize {
        match self {
            Side::Right => 0,
            Side::Left => 1,
        }
    }
    /// The side lying on the image right (`true`) or left.
    pub fn from_image_right(image_right: bool) -> Side {
        if image_right { Side::Left } else { Side::Right }
    }
}

/// One lung: a superellipse of exponent 2.5 (apex and lateral wall) cut by the diaphragm
/// dome below and the mediastinum medially. `s` is the distance from the
/// midline into this lung (`s = sign · u`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LungShape {
    pub sc: f32,
    pub vc: f32,
    pub a: f32,
    pub b_top: f32,
    pub b_bot: f32,
    /// Height of the dome's top and where across it lies.
    pub dome_top: f32,
    pub dome_sc: f32,
    /// Curvature of the dome: how far the costophrenic angle lies below it.
    pub dome_k: f32,
    /// Medial border (mediastinum) in the upper and lower chest.
    pub med_top: f32,
    pub med_bot: f32,
}

/// Signed distances (patient units, positive inside) to a lung's borders.
#[derive(Debug, Clone, Copy)]
pub struct Margins {
    /// To the chest wall and apex (the pleura a pneumothorax peels from).
    pub wall: f32,
    pub dome: f32,
    pub medial: f32,
}

impl Margins {
    pub fn min(&self) -> f32 {
        self.wall.min(self.dome).min(self.medial)
    }
}

impl LungShape {
    pub fn dome_at(&self, s: f32) -> f32 {
        self.dome_top + self.dome_k * (s - self.dome_sc) * (s - self.dome_sc)
    }

    pub fn margins(&self, s: f32, v: f32) -> Margins {
        let b = if v < self.vc { self.b_top } else { self.b_bot };
        // Exponent 2.5 (x² · √x) keeps this cheap: it runs for every pixel.
        let pow25 = |x: f32| x * x * x.sqrt();
        let fx = pow25((s - self.sc).abs() / self.a);
        let fy = pow25((v - self.vc).abs() / b);
        let r = (fx + fy).powf(0.4);
        let wall = (1.0 - r) * self.a.min(b);
        let med = self.med_top + (self.med_bot - self.med_top) * smoothstep(0.2, 0.7, v);
        Margins {
            wall,
            dome: self.dome_at(s) - v,
            medial: s - med,
        }
    }

    /// Lowest point of the lung (the costophrenic angle), roughly.
    pub fn cp_angle(&self) -> (f32, f32) {
        let mut best = (self.sc, 0.0f32);
        let mut s = self.sc;
        while s < self.sc + self.a {
            // Walk down each column until leaving the lung.
            let mut v = self.vc;
            while self.margins(s, v).min() > 0.0 && v < 2.0 {
                v += 0.005;
            }
            if v > best.1 {
                best = (s, v);
            }
            s += 0.01;
        }
        best
    }
}

/// The heart shadow: an ellipse with different radii on each side and
/// above/below, sheared so the apex points down and to the patient's left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heart {
    pub u: f32,
    pub v: f32,
    /// Extent towards the patient's right (−u) and left (+u).
    pub r_right: f32,
    pub r_left: f32,
    pub r_top: f32,
    pub r_bot: f32,
    pub shear: f32,
}

impl Heart {
    /// Normalised thickness, 1 in the middle and 0 at and outside the border.
    #[inline]
    pub fn thickness(&self, u: f32, v: f32) -> f32 {
        let dv = v - self.v;
        let du = u - self.u - self.shear * dv;
        // Narrower towards the top, where it hangs from the great vessels.
        let narrow = if dv < 0.0 {
            let t = (dv / self.r_top).min(1.0);
            0.5 + 0.5 * (1.0 - t * t)
        } else {
            1.0
        };
        let x = du / (narrow * if du < 0.0 { self.r_right } else { self.r_left });
        let y = dv / if dv < 0.0 { self.r_top } else { self.r_bot };
        let f = x * x + y * y;
        if f >= 1.0 { 0.0 } else { (1.0 - f).sqrt() }
    }

    /// Width of the shadow (u units), the numerator of the cardiothoracic
    /// ratio.
    pub fn width(&self) -> f32 {
        self.r_right + self.r_left
    }

    pub fn extent(&self) -> (f32, f32, f32, f32) {
        let s = self.shear.abs() * self.r_bot.max(self.r_top);
        (
            self.u - self.r_right - s,
            self.v - self.r_top,
            self.u + self.r_left + s,
            self.v + self.r_bot,
        )
    }
}

/// Everything that varies between synthetic patients.
#[derive(Debug, Clone, PartialEq)]
pub struct Anatomy {
    pub frame: Frame,
    pub lungs: [LungShape; 2],
    pub heart: Heart,
    /// Half-widths of the chest, shoulders and neck (u units).
    pub chest_w: f32,
    pub shoulder_w: f32,
    pub neck_w: f32,
    pub arms: bool,
    /// Breast shadow strength, 0 for none.
    pub breasts: f32,
    /// Height of the first posterior rib and the spacing of ribs (v units).
    pub rib0: f32,
    pub rib_dv: f32,
    pub rib_w: f32,
    /// Per-rib offsets of the posterior ribs (v units): real rib cages are
    /// not perfectly regular.
    pub rib_jitter: [f32; 12],
    pub trachea_u: f32,
    pub carina_v: f32,
    pub knob: f32,
    pub clavicle_v: f32,
    pub gastric_bubble: bool,
    pub hila: [(f32, f32); 2],
}

impl Anatomy {
    /// A typical adult, at the given frame; used as the template when
    /// findings are put into a real radiograph.
    pub fn typical(frame: Frame) -> Self {
        let lung = LungShape {
            sc: 0.53,
            vc: 0.58,
            a: 0.42,
            b_top: 0.58,
            b_bot: 0.85,
            dome_top: 1.0,
            dome_sc: 0.45,
            dome_k: 1.1,
            med_top: 0.13,
            med_bot: 0.09,
        };
        let mut left = lung;
        left.dome_top = 1.05;
        left.med_top = 0.16;
        Self {
            frame,
            lungs: [lung, left],
            heart: Heart {
                u: 0.12,
                v: 0.8,
                r_right: 0.32,
                r_left: 0.5,
                r_top: 0.34,
                r_bot: 0.3,
                shear: 0.25,
            },
            chest_w: 1.25,
            shoulder_w: 1.55,
            neck_w: 0.35,
            arms: true,
            breasts: 0.0,
            rib0: -0.1,
            rib_dv: 0.105,
            rib_w: 0.024,
            rib_jitter: [0.0; 12],
            trachea_u: 0.01,
            carina_v: 0.38,
            knob: 0.07,
            clavicle_v: -0.06,
            gastric_bubble: false,
            hila: [(-0.22, 0.5), (0.24, 0.46)],
        }
    }

    /// A random adult in a `w` × `h` image.
    pub fn sample<R: Rng>(rng: &mut R, w: usize, h: usize) -> Self {
        let (wf, hf) = (w as f32, h as f32);
        let su = wf * rng.random_range(0.32..0.41);
        let sv = (su * (0.52 / 0.38) * rng.random_range(0.85..1.12)).min(hf * 0.62);
        let ox = wf * (0.5 + rng.random_range(-0.03..0.03));
        let oy = hf * rng.random_range(0.07..0.16);
        let angle = rng.random_range(-0.06f32..0.06);
        let mut a = Self::typical(Frame::new(ox, oy, su, sv, angle));
        for (i, l) in a.lungs.iter_mut().enumerate() {
            l.a *= rng.random_range(0.94..1.06);
            l.sc = 0.53 + rng.random_range(-0.03..0.03);
            l.vc += rng.random_range(-0.04..0.04);
            l.dome_top = if i == 0 {
                1.0
            } else {
                1.0 + rng.random_range(0.02..0.08)
            };
            l.dome_k = rng.random_range(0.9..1.4);
            l.med_top += rng.random_range(-0.02..0.03);
        }
        // Normal cardiothoracic ratio 0.38..0.5 (thorax ≈ 1.9 u wide).
        let width = rng.random_range(0.74..0.92);
        let right_share = rng.random_range(0.33..0.42);
        a.heart = Heart {
            u: rng.random_range(0.08..0.16),
            v: rng.random_range(0.82..0.9),
            r_right: width * right_share,
            r_left: width * (1.0 - right_share),
            r_top: rng.random_range(0.27..0.33),
            r_bot: rng.random_range(0.26..0.32),
            shear: rng.random_range(0.15..0.35),
        };
        a.chest_w = rng.random_range(1.15..1.38);
        a.shoulder_w = a.chest_w + rng.random_range(0.2..0.4);
        a.neck_w = rng.random_range(0.3..0.4);
        a.arms = rng.random::<f32>() < 0.35;
        a.breasts = if rng.random::<f32>() < 0.35 {
            rng.random_range(0.05..0.14)
        } else {
            0.0
        };
        a.rib0 = rng.random_range(-0.14..-0.08);
        a.rib_dv = rng.random_range(0.095..0.115);
        a.rib_w = rng.random_range(0.02..0.028);
        for j in &mut a.rib_jitter {
            *j = rng.random_range(-0.012..0.012);
        }
        a.trachea_u = rng.random_range(-0.02..0.03);
        a.carina_v = rng.random_range(0.34..0.42);
        a.knob = rng.random_range(0.05..0.09);
        a.clavicle_v = rng.random_range(-0.1..0.0);
        a.gastric_bubble = rng.random::<f32>() < 0.5;
        a.hila = [
            (
                -0.2 - rng.random_range(0.0..0.05),
                rng.random_range(0.46..0.54),
            ),
            (
                0.22 + rng.random_range(0.0..0.05),
                rng.random_range(0.42..0.5),
            ),
        ];
        a
    }

    pub fn lung(&self, side: Side) -> &LungShape {
        &self.lungs[side.index()]
    }

    /// Margins of the lung on the side `u` falls on.
    #[inline]
    pub fn margins_at(&self, u: f32, v: f32) -> (Side, Margins) {
        let side = if u < 0.0 { Side::Right } else { Side::Left };
        (side, self.lung(side).margins(u.abs(), v))
    }

    /// Soft lung mask in [0, 1].
    #[inline]
    pub fn lung_mask(&self, u: f32, v: f32) -> f32 {
        let (_, m) = self.margins_at(u, v);
        smoothstep(-0.008, 0.008, m.min())
    }

    /// Body half-width at height `v` (neck, shoulders, chest).
    pub fn body_half_width(&self, v: f32) -> f32 {
        let t = smoothstep(-0.42, -0.12, v);
        let upper = self.neck_w + (self.shoulder_w - self.neck_w) * t;
        let down = smoothstep(-0.1, 0.35, v);
        upper + (self.chest_w - upper) * down
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_lungs_have_expected_landmarks() {
        let a = Anatomy::typical(Frame::new(0.0, 0.0, 1.0, 1.0, 0.0));
        // Mid-lung is inside, the midline and the abdomen are not.
        assert!(a.lung_mask(-0.5, 0.5) > 0.99 && a.lung_mask(0.5, 0.5) > 0.99);
        assert!(a.lung_mask(0.0, 0.5) < 0.01);
        assert!(a.lung_mask(-0.5, 1.3) < 0.01);
        // The costophrenic angle lies lateral to and below the dome's top.
        let l = a.lung(Side::Right);
        let (s, v) = l.cp_angle();
        assert!(s > l.dome_sc && v > l.dome_top, "cp angle ({s}, {v})");
        // Normal heart narrower than half the thorax.
        assert!(a.heart.width() < 0.5 * 2.0 * (l.sc + l.a));
    }
}
