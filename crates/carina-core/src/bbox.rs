//! Axis-aligned boxes in absolute pixel coordinates.

use serde::{Deserialize, Serialize};

/// Why a box was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BBoxError {
    #[error("box coordinates must be finite numbers")]
    NotFinite,
    #[error("box has x_min > x_max or y_min > y_max ({0:?})")]
    Inverted([f64; 4]),
    #[error("box {0:?} lies outside the {1}x{2} image")]
    OutsideImage([f64; 4], u32, u32),
    #[error("box width and height must not be negative (w={0}, h={1})")]
    NegativeSize(f64, f64),
}

/// A box `[x_min, y_min, x_max, y_max]` in pixels of the original image.
///
/// The fields are private so that every `BBox` in the program is finite and
/// has `x_min <= x_max` and `y_min <= y_max`. It serialises as a JSON array of
/// four numbers, the form used by the HTTP API and `carina predict`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "[f64; 4]", into = "[f64; 4]")]
pub struct BBox {
    x_min: f64,
    y_min: f64,
    x_max: f64,
    y_max: f64,
}

impl BBox {
    pub fn new(x_min: f64, y_min: f64, x_max: f64, y_max: f64) -> Result<Self, BBoxError> {
        let c = [x_min, y_min, x_max, y_max];
        if c.iter().any(|v| !v.is_finite()) {
            return Err(BBoxError::NotFinite);
        }
        if x_min > x_max || y_min > y_max {
            return Err(BBoxError::Inverted(c));
        }
        Ok(Self {
            x_min,
            y_min,
            x_max,
            y_max,
        })
    }

    /// From COCO / NIH `x, y, width, height`.
    pub fn from_xywh(x: f64, y: f64, w: f64, h: f64) -> Result<Self, BBoxError> {
        if w.is_finite() && h.is_finite() && (w < 0.0 || h < 0.0) {
            return Err(BBoxError::NegativeSize(w, h));
        }
        Self::new(x, y, x + w, y + h)
    }

    /// A box that must also lie inside a `width` × `height` image.
    pub fn new_within(
        x_min: f64,
        y_min: f64,
        x_max: f64,
        y_max: f64,
        width: u32,
        height: u32,
    ) -> Result<Self, BBoxError> {
        let b = Self::new(x_min, y_min, x_max, y_max)?;
        b.check_within(width, height)?;
        Ok(b)
    }

    pub fn check_within(&self, width: u32, height: u32) -> Result<(), BBoxError> {
        if self.x_min < 0.0
            || self.y_min < 0.0
            || self.x_max > f64::from(width)
            || self.y_max > f64::from(height)
        {
            return Err(BBoxError::OutsideImage(self.to_array(), width, height));
        }
        Ok(())
    }

    pub fn x_min(&self) -> f64 {
        self.x_min
    }
    pub fn y_min(&self) -> f64 {
        self.y_min
    }
    pub fn x_max(&self) -> f64 {
        self.x_max
    }
    pub fn y_max(&self) -> f64 {
        self.y_max
    }
    pub fn width(&self) -> f64 {
        self.x_max - self.x_min
    }
    pub fn height(&self) -> f64 {
        self.y_max - self.y_min
    }
    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }
    pub fn center(&self) -> (f64, f64) {
        (
            (self.x_min + self.x_max) / 2.0,
            (self.y_min + self.y_max) / 2.0,
        )
    }
    pub fn to_array(&self) -> [f64; 4] {
        [self.x_min, self.y_min, self.x_max, self.y_max]
    }
    /// COCO `[x, y, width, height]`.
    pub fn to_xywh(&self) -> [f64; 4] {
        [self.x_min, self.y_min, self.width(), self.height()]
    }

    /// Intersection over union; 0 when both boxes are empty.
    pub fn iou(&self, other: &BBox) -> f64 {
        let iw = (self.x_max.min(other.x_max) - self.x_min.max(other.x_min)).max(0.0);
        let ih = (self.y_max.min(other.y_max) - self.y_min.max(other.y_min)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The box clipped to a `width` × `height` image.
    pub fn clip(&self, width: u32, height: u32) -> BBox {
        let (w, h) = (f64::from(width), f64::from(height));
        let x_min = self.x_min.clamp(0.0, w);
        let y_min = self.y_min.clamp(0.0, h);
        BBox {
            x_min,
            y_min,
            x_max: self.x_max.clamp(x_min, w),
            y_max: self.y_max.clamp(y_min, h),
        }
    }
}

impl TryFrom<[f64; 4]> for BBox {
    type Error = BBoxError;
    fn try_from(c: [f64; 4]) -> Result<Self, Self::Error> {
        Self::new(c[0], c[1], c[2], c[3])
    }
}

impl From<BBox> for [f64; 4] {
    fn from(b: BBox) -> Self {
        b.to_array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_inverted_and_non_finite() {
        assert!(matches!(
            BBox::new(5.0, 0.0, 1.0, 1.0),
            Err(BBoxError::Inverted(_))
        ));
        assert_eq!(
            BBox::new(f64::NAN, 0.0, 1.0, 1.0),
            Err(BBoxError::NotFinite)
        );
        assert!(matches!(
            BBox::from_xywh(0.0, 0.0, -1.0, 2.0),
            Err(BBoxError::NegativeSize(..))
        ));
    }

    #[test]
    fn within_image() {
        assert!(BBox::new_within(0.0, 0.0, 10.0, 10.0, 10, 10).is_ok());
        assert!(matches!(
            BBox::new_within(0.0, 0.0, 10.5, 10.0, 10, 10),
            Err(BBoxError::OutsideImage(..))
        ));
    }

    #[test]
    fn iou_is_symmetric_and_bounded() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0).unwrap();
        let b = BBox::new(5.0, 5.0, 15.0, 15.0).unwrap();
        assert!((a.iou(&b) - 25.0 / 175.0).abs() < 1e-12);
        assert_eq!(a.iou(&b), b.iou(&a));
        assert_eq!(a.iou(&a), 1.0);
        let far = BBox::new(20.0, 20.0, 30.0, 30.0).unwrap();
        assert_eq!(a.iou(&far), 0.0);
    }

    #[test]
    fn json_is_an_array_and_validated() {
        let b = BBox::new(1.0, 2.0, 3.0, 4.0).unwrap();
        assert_eq!(serde_json::to_string(&b).unwrap(), "[1.0,2.0,3.0,4.0]");
        assert!(serde_json::from_str::<BBox>("[3,0,1,1]").is_err());
        assert_eq!(serde_json::from_str::<BBox>("[1,2,3,4]").unwrap(), b);
    }

    #[test]
    fn clip_keeps_order() {
        let b = BBox::new(-5.0, 3.0, 50.0, 8.0).unwrap().clip(20, 6);
        assert_eq!(b.to_array(), [0.0, 3.0, 20.0, 6.0]);
    }
}
