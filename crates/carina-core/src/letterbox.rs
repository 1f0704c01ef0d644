//! The resize-and-pad transform between an original image and a square model
//! input, and its inverse for boxes.

use crate::BBox;
use serde::{Deserialize, Serialize};

/// Scale an `orig_width` × `orig_height` image by `scale` (keeping the aspect
/// ratio), then place it at (`pad_x`, `pad_y`) on a `size` × `size` canvas.
/// Model-space coordinates are `orig * scale + pad`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Letterbox {
    pub orig_width: u32,
    pub orig_height: u32,
    pub size: u32,
    pub scale: f64,
    pub pad_x: f64,
    pub pad_y: f64,
}

impl Letterbox {
    /// The transform effdet and the seed use: the longer side becomes `size`,
    /// the image sits at the top-left corner, the rest is padding.
    pub fn top_left(orig_width: u32, orig_height: u32, size: u32) -> Self {
        let scale = f64::from(size) / f64::from(orig_width.max(orig_height).max(1));
        Self {
            orig_width,
            orig_height,
            size,
            scale,
            pad_x: 0.0,
            pad_y: 0.0,
        }
    }

    /// Width and height of the scaled image inside the canvas, in whole pixels.
    pub fn scaled_size(&self) -> (u32, u32) {
        let w = (f64::from(self.orig_width) * self.scale).round() as u32;
        let h = (f64::from(self.orig_height) * self.scale).round() as u32;
        (w.clamp(1, self.size), h.clamp(1, self.size))
    }

    pub fn is_identity(&self) -> bool {
        self.scale == 1.0 && self.pad_x == 0.0 && self.pad_y == 0.0
    }

    /// Original pixels → model input pixels.
    pub fn to_model(&self, b: &BBox) -> BBox {
        BBox::new(
            b.x_min() * self.scale + self.pad_x,
            b.y_min() * self.scale + self.pad_y,
            b.x_max() * self.scale + self.pad_x,
            b.y_max() * self.scale + self.pad_y,
        )
        .expect("an affine map with positive scale keeps a box valid")
    }

    /// Model input pixels → original pixels, clipped to the original image.
    pub fn to_original(&self, b: &BBox) -> BBox {
        BBox::new(
            (b.x_min() - self.pad_x) / self.scale,
            (b.y_min() - self.pad_y) / self.scale,
            (b.x_max() - self.pad_x) / self.scale,
            (b.y_max() - self.pad_y) / self.scale,
        )
        .expect("an affine map with positive scale keeps a box valid")
        .clip(self.orig_width, self.orig_height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = Letterbox::top_left(2000, 1000, 512);
        assert_eq!(t.scaled_size(), (512, 256));
        let b = BBox::new(100.0, 200.0, 900.0, 700.0).unwrap();
        let back = t.to_original(&t.to_model(&b));
        for (a, e) in back.to_array().iter().zip(b.to_array()) {
            assert!((a - e).abs() < 1e-9);
        }
    }

    #[test]
    fn identity_at_model_size() {
        assert!(Letterbox::top_left(512, 512, 512).is_identity());
    }
}
