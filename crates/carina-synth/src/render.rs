//! Renders an [`Anatomy`] into an attenuation map: each tissue adds the
//! product of its thickness and density along the ray, as an X-ray image
//! is formed. Brightness comes later ([`crate::display`]).

use crate::anatomy::{Anatomy, Side};
use crate::field::{Field, Noise, smoothstep};
use rand::Rng;

/// The rendered anatomy of one image.
pub struct Base {
    /// Total attenuation.
    pub atten: Field,
    /// Attenuation missing because of air in the lungs: what an opacity that
    /// fills the air spaces adds back.
    pub deficit: Field,
    /// Soft lung mask in [0, 1].
    pub lung: Field,
}

// Densities, in units where the chest's full soft-tissue path is about 1.
const SOFT: f32 = 1.0;
const AIR: f32 = 0.62;
const HEART: f32 = 0.1;
const RIB: f32 = 0.085;
const CLAVICLE: f32 = 0.13;
const SPINE: f32 = 0.1;

/// Tube cross-section with a brighter cortex: the projected thickness of a
/// hollow cylinder at normalised distance `d` from its axis.
#[inline]
fn bone_profile(d: f32) -> f32 {
    if d >= 1.0 {
        return 0.0;
    }
    let outer = (1.0 - d * d).sqrt();
    let inner = (0.55 - d * d).max(0.0).sqrt();
    // Smooth the outer edge over ~10 % of the half-width.
    (outer - 0.75 * inner) * smoothstep(1.0, 0.9, d)
}

/// Vertical offset of a posterior rib's centreline at distance `s` from
/// the midline: rising a little off the spine, then sweeping down
/// laterally.
#[inline]
fn posterior_rib(s: f32) -> f32 {
    0.75 * (s - 0.22) * (s - 0.22) - 0.036
}

/// Anterior rib from the lateral wall (s ≈ 0.95) running down and medially.
#[inline]
fn anterior_rib(s: f32) -> f32 {
    let t = (0.95 - s).max(0.0);
    0.62 * t - 0.12 * t * t
}

pub fn render_base<R: Rng>(a: &Anatomy, w: usize, h: usize, rng: &mut R) -> Base {
    let mut atten = Field::new(w, h);
    let mut deficit = Field::new(w, h);
    let mut lung = Field::new(w, h);
    let tex = Texture {
        noise: Noise::new(rng, 24),
        phase: rng.random_range(0.0..24.0f32),
    };
    let f = &a.frame;
    for y in 0..h {
        for x in 0..w {
            let (u, v) = f.to_patient(x as f32, y as f32);
            let i = y * w + x;
            let p = pixel(a, &tex, u, v);
            atten.data[i] = p.atten;
            deficit.data[i] = p.air;
            lung.data[i] = p.lung;
        }
    }
    Base {
        atten,
        deficit,
        lung,
    }
}

/// The tissue texture of one image.
struct Texture {
    noise: Noise,
    phase: f32,
}

/// One pixel of [`Base`].
struct Pixel {
    atten: f32,
    air: f32,
    lung: f32,
}

/// The attenuation along the ray through patient point `(u, v)`.
fn pixel(a: &Anatomy, tex: &Texture, u: f32, v: f32) -> Pixel {
    let soft = soft_tissue(a, u, v);
    let tissue = soft * (1.0 + 0.04 * tex.noise.fbm(u * 3.0 + tex.phase, v * 3.0, 2));
    let mut at = SOFT * tissue;

    // Lungs: air thickness is largest mid-lung and thins to the pleura.
    let (_, m) = a.margins_at(u, v);
    let mm = m.min();
    let mask = smoothstep(-0.008, 0.008, mm);
    let depth = mask * (mm.max(0.0) / 0.28).min(1.0).sqrt();
    // Heart in front of the lungs displaces them.
    let ht = a.heart.thickness(u, v);
    let hmask = smoothstep(0.0, 0.45, ht);
    let mottle = 1.0 - 0.06 * tex.noise.fbm(u * 9.0 - tex.phase, v * 9.0, 3);
    let air = AIR * depth * (1.0 - 0.85 * hmask) * soft.min(1.0) * mottle;
    at -= air;
    // The heart is only seen where it is not under the diaphragm.
    at += HEART * ht;

    add_mediastinum(a, u, v, soft, &mut at);
    add_gastric_bubble_and_breasts(a, u, v, &mut at);
    add_bones(a, u, v, m.wall, &mut at);
    Pixel {
        atten: at,
        air,
        lung: mask,
    }
}

/// Soft tissue: an elliptical cross-section of the body, and the arms.
fn soft_tissue(a: &Anatomy, u: f32, v: f32) -> f32 {
    let bw = a.body_half_width(v);
    let mut soft = 0.0;
    let au = u.abs();
    if au < bw + 0.02 {
        let r = (au / bw).min(1.0);
        soft = (1.0 - r * r).max(0.0).sqrt() * smoothstep(bw + 0.02, bw - 0.02, au);
    }
    // Arms beside the chest, separated by the axilla.
    if a.arms && v > -0.15 {
        let c = a.chest_w + 0.28;
        let d = (au - c).abs() / 0.2;
        if d < 1.0 {
            soft = soft.max(0.8 * (1.0 - d * d).sqrt() * smoothstep(-0.15, 0.0, v));
        }
    }
    soft
}

/// Aortic knob, hila, trachea and main bronchi.
fn add_mediastinum(a: &Anatomy, u: f32, v: f32, soft: f32, at: &mut f32) {
    // Aortic knob beside the trachea on the patient's left.
    let (ku, kv) = (0.17 + a.heart.u * 0.3, 0.27);
    let kd = ((u - ku) / a.knob).powi(2) + ((v - kv) / (a.knob * 1.2)).powi(2);
    if kd < 1.0 {
        *at += 0.12 * (1.0 - kd).sqrt();
    }
    // Hila: vessels and nodes where the bronchi enter.
    for (hu, hv) in a.hila {
        let d2 = ((u - hu) / 0.08).powi(2) + ((v - hv) / 0.11).powi(2);
        if d2 < 4.0 {
            *at += 0.07 * (-d2).exp();
        }
    }
    // Trachea and main bronchi (air).
    let tu = u - a.trachea_u;
    if v < a.carina_v && tu.abs() < 0.06 {
        *at -= 0.1 * smoothstep(0.055, 0.035, tu.abs()) * soft;
    } else if v >= a.carina_v && v < a.carina_v + 0.16 {
        let dv = v - a.carina_v;
        for dir in [-1.0f32, 1.0] {
            let cu = dir * dv * if dir < 0.0 { 1.0 } else { 1.4 };
            *at -= 0.07 * smoothstep(0.04, 0.02, (tu - cu).abs()) * smoothstep(0.16, 0.1, dv);
        }
    }
}

fn add_gastric_bubble_and_breasts(a: &Anatomy, u: f32, v: f32, at: &mut f32) {
    // Gastric air bubble under the left dome.
    if a.gastric_bubble {
        let l = a.lung(Side::Left);
        let by = l.dome_at(0.45) + 0.1;
        let d2 = ((u - 0.45) / 0.13).powi(2) + ((v - by) / 0.07).powi(2);
        if d2 < 1.0 && v > by - 0.035 {
            *at -= 0.15 * (1.0 - d2).sqrt();
        }
    }
    // Breasts over the lower chest.
    if a.breasts > 0.0 {
        let s = u.abs();
        let d2 = ((s - 0.62) / 0.5).powi(2) + ((v - 0.92) / 0.34).powi(2);
        if d2 < 1.0 {
            *at += a.breasts * (1.0 - d2).sqrt() * smoothstep(0.6, 1.2, v);
        }
    }
}

/// Spine, clavicles and ribs; `wall` is the lung margin to the chest wall.
fn add_bones(a: &Anatomy, u: f32, v: f32, wall: f32, at: &mut f32) {
    let au = u.abs();
    // Spine: vertebral bodies with darker disc spaces.
    if au < 0.12 && v > -0.45 {
        let col = smoothstep(0.1, 0.075, au);
        let ph = ((v - a.rib0) / a.rib_dv).fract();
        let disc = 1.0 - 0.35 * smoothstep(0.12, 0.0, (ph - 0.5).abs());
        let ped = (-(((au - 0.06) / 0.015).powi(2) + ((ph - 0.3) / 0.12).powi(2))).exp();
        *at +=
            SPINE * (col * disc * 0.8 + 0.4 * ped * col) * (1.0 - 0.75 * smoothstep(1.0, 1.3, v));
    }
    // Clavicles: S-shaped struts from the sternum to the shoulder.
    let s = au;
    if (0.04..1.2).contains(&s) {
        let cv = a.clavicle_v - 0.1 * s + 0.05 * (std::f32::consts::PI * s / 0.7).sin();
        let d = (v - cv).abs() / 0.032;
        let ends = smoothstep(0.04, 0.1, s) * smoothstep(1.2, 1.05, s);
        *at += CLAVICLE * bone_profile(d) * ends;
    }
    // Ribs inside the cage (a little beyond the lung's wall).
    let cage = smoothstep(-0.07, -0.03, wall) * smoothstep(0.0, 0.06, s);
    if cage > 0.0 {
        add_ribs(a, v, s, cage, at);
    }
}

/// Posterior ribs, and the fainter anterior ones fading out medially where
/// they become cartilage, at distance `s` from the midline.
fn add_ribs(a: &Anatomy, v: f32, s: f32, cage: f32, at: &mut f32) {
    let ribs_n = 12;
    let base = v - a.rib0 - posterior_rib(s);
    let k = (base / a.rib_dv).round();
    for kk in [k - 1.0, k, k + 1.0] {
        if kk < 0.0 || kk >= ribs_n as f32 {
            continue;
        }
        let hw = a.rib_w * (1.0 + 0.04 * kk);
        let d = (base - kk * a.rib_dv - a.rib_jitter[kk as usize]).abs() / hw;
        *at += RIB * cage * bone_profile(d);
    }
    let base_a = v - a.rib0 - 0.13 - anterior_rib(s);
    let k = (base_a / a.rib_dv).round();
    for kk in [k - 1.0, k, k + 1.0] {
        if !(0.0..7.0).contains(&kk) {
            continue;
        }
        let d = (base_a - kk * a.rib_dv).abs() / (a.rib_w * 1.15);
        *at += 0.45 * RIB * cage * bone_profile(d) * smoothstep(0.28, 0.45, s);
    }
}
