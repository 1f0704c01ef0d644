//! The patient frame: coordinates tied to the anatomy, so that anatomy and
//! findings are described once and any rotation, scale or position of the
//! patient in the image follows automatically.
//!
//! `u` runs across the chest, 0 on the midline and ±1 near the lateral
//! edges of the lungs; +u is the image right, which in a PA view is the
//! patient's LEFT. `v` runs down, 0 at the lung apices and 1 at the top of
//! the right hemidiaphragm.

/// Where a NIH box (fractions of a square image) lies in the patient frame
/// of a typical NIH radiograph: the midline at x = 0.5, the lungs' lateral
/// edges at about x = 0.12 and 0.88, apices at y ≈ 0.13, right dome at
/// y ≈ 0.65 (measured by eye on the NIH samples).
pub const NIH_U_PER_IMAGE: f32 = 1.0 / 0.38;
pub const NIH_V_PER_IMAGE: f32 = 1.0 / 0.52;
pub const NIH_APEX_Y: f32 = 0.13;

/// An affine map between image pixels and the patient frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Image position of the patient origin (midline, apex height), pixels.
    pub ox: f32,
    pub oy: f32,
    /// Pixels per unit of `u` and of `v`.
    pub su: f32,
    pub sv: f32,
    /// Rotation of the patient in the image, radians.
    pub cos: f32,
    pub sin: f32,
}

impl Frame {
    pub fn new(ox: f32, oy: f32, su: f32, sv: f32, angle: f32) -> Self {
        Self {
            ox,
            oy,
            su,
            sv,
            cos: angle.cos(),
            sin: angle.sin(),
        }
    }

    #[inline]
    pub fn to_image(&self, u: f32, v: f32) -> (f32, f32) {
        let (px, py) = (u * self.su, v * self.sv);
        (
            self.ox + px * self.cos - py * self.sin,
            self.oy + px * self.sin + py * self.cos,
        )
    }

    #[inline]
    pub fn to_patient(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.ox, y - self.oy);
        let px = dx * self.cos + dy * self.sin;
        let py = -dx * self.sin + dy * self.cos;
        (px / self.su, py / self.sv)
    }

    /// Pixel rectangle `(x0, y0, x1, y1)` (inclusive, clipped to `w` × `h`)
    /// covering the patient-frame rectangle `[u0, u1] × [v0, v1]`; `None`
    /// when it misses the image.
    pub fn pixel_rect(
        &self,
        u0: f32,
        v0: f32,
        u1: f32,
        v1: f32,
        w: usize,
        h: usize,
    ) -> Option<(usize, usize, usize, usize)> {
        let corners = [
            self.to_image(u0, v0),
            self.to_image(u1, v0),
            self.to_image(u0, v1),
            self.to_image(u1, v1),
        ];
        let xmin = corners.iter().map(|c| c.0).fold(f32::MAX, f32::min).floor();
        let xmax = corners.iter().map(|c| c.0).fold(f32::MIN, f32::max).ceil();
        let ymin = corners.iter().map(|c| c.1).fold(f32::MAX, f32::min).floor();
        let ymax = corners.iter().map(|c| c.1).fold(f32::MIN, f32::max).ceil();
        if xmax < 0.0 || ymax < 0.0 || xmin > (w - 1) as f32 || ymin > (h - 1) as f32 {
            return None;
        }
        Some((
            xmin.max(0.0) as usize,
            ymin.max(0.0) as usize,
            (xmax as usize).min(w - 1),
            (ymax as usize).min(h - 1),
        ))
    }

    /// Pixels per patient unit on average (for sizes given in `u` units).
    pub fn px_per_unit(&self) -> f32 {
        0.5 * (self.su + self.sv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let f = Frame::new(250.0, 60.0, 190.0, 260.0, 0.05);
        for (u, v) in [(0.0, 0.0), (-0.8, 0.5), (0.9, 1.1)] {
            let (x, y) = f.to_image(u, v);
            let (u2, v2) = f.to_patient(x, y);
            assert!((u - u2).abs() < 1e-4 && (v - v2).abs() < 1e-4);
        }
    }
}
