//! Readable locations and sizes of boxes on a PA chest radiograph.
//!
//! Convention (a postero-anterior, "PA", radiograph viewed as radiologists
//! display it, patient facing the viewer):
//! - **Side**: the patient's right is on the *image's left*. The midline is
//!   the vertical centre of the lung region (the bounding box of both lungs
//!   when the caller knows it, otherwise the whole image). A box whose centre
//!   lies left of the midline is "right", otherwise "left". A box that
//!   reaches past the midline on both sides by more than 5 % of the region's
//!   width is "bilateral".
//! - **Zone**: the lung region's height is cut into thirds: upper, middle,
//!   lower zone. A box is in every zone that holds at least 20 % of its
//!   height ("right middle and lower zones"; "upper to lower zones" when it
//!   spans all three).
//! - **Central / peripheral**: the distance of the box centre from the
//!   midline, as a fraction of the half-width of the region: under one half
//!   is "central" (called "perihilar" when the box lies in the middle zone
//!   only, where the hila are), otherwise "peripheral". Bilateral boxes are
//!   centred on the midline and get no such qualifier.
//!
//! These are geometric descriptions of a box, not an anatomical
//! segmentation: without a lung region they use the whole image.

use carina_core::BBox;

/// Where the lungs are in an image, for locations.
#[derive(Debug, Clone, PartialEq)]
pub struct ChestGeometry {
    /// The image the boxes are on (Carina's image id).
    pub image_id: String,
    /// Bounding box of both lung fields; `None` = the whole image.
    pub lung_region: Option<BBox>,
    pub width: u32,
    pub height: u32,
    /// DICOM Pixel Spacing `[row spacing, column spacing]` in mm (row spacing
    /// is the vertical distance between rows), when known.
    pub pixel_spacing_mm: Option<[f64; 2]>,
}

const ZONES: [&str; 3] = ["upper", "middle", "lower"];

impl ChestGeometry {
    fn region(&self) -> (f64, f64, f64, f64) {
        match self.lung_region {
            Some(r) if r.width() > 0.0 && r.height() > 0.0 => {
                (r.x_min(), r.y_min(), r.x_max(), r.y_max())
            }
            _ => (0.0, 0.0, f64::from(self.width), f64::from(self.height)),
        }
    }

    /// A readable location such as "right lower zone, peripheral" (see the
    /// module docs for the convention).
    pub fn location(&self, b: &BBox) -> String {
        let (x0, y0, x1, y1) = self.region();
        let (rw, rh) = ((x1 - x0).max(1e-9), (y1 - y0).max(1e-9));
        let mid = (x0 + x1) / 2.0;
        let tol = 0.05 * rw;
        let bilateral = b.x_min() < mid - tol && b.x_max() > mid + tol;
        let (cx, _) = b.center();

        // Zones holding ≥ 20 % of the box height (a zero-height box uses its centre).
        let mut zones: Vec<usize> = (0..3)
            .filter(|&z| {
                let (z0, z1) = (y0 + rh * z as f64 / 3.0, y0 + rh * (z + 1) as f64 / 3.0);
                let overlap = (b.y_max().min(z1) - b.y_min().max(z0)).max(0.0);
                b.height() > 0.0 && overlap >= 0.2 * b.height()
            })
            .collect();
        if zones.is_empty() {
            // A flat box, or one above/below the lung region: the nearest zone.
            let t = ((b.center().1 - y0) / rh * 3.0).floor().clamp(0.0, 2.0);
            zones.push(t as usize);
        }
        let plural = zones.len() > 1 || bilateral;
        let zone_text = match zones.as_slice() {
            [z] => ZONES[*z].to_string(),
            [a, b] => format!("{} and {}", ZONES[*a], ZONES[*b]),
            _ => "upper to lower".to_string(),
        };
        let zone_word = if plural { "zones" } else { "zone" };

        if bilateral {
            return format!("bilateral {zone_text} {zone_word}");
        }
        // Patient's right = image left.
        let side = if cx < mid { "right" } else { "left" };
        let d = (cx - mid).abs() / (rw / 2.0);
        let radial = if d >= 0.5 {
            "peripheral"
        } else if zones == [1] {
            "perihilar"
        } else {
            "central"
        };
        format!("{side} {zone_text} {zone_word}, {radial}")
    }

    /// Width and height of a box in mm, when the pixel spacing is known.
    pub fn size_mm(&self, b: &BBox) -> Option<(f64, f64)> {
        let [row, col] = self.pixel_spacing_mm?;
        (row > 0.0 && col > 0.0 && row.is_finite() && col.is_finite())
            .then(|| (b.width() * col, b.height() * row))
    }
}

/// "42 × 31 mm" (whole millimetres; one decimal under 10 mm).
pub fn format_size_mm((w, h): (f64, f64)) -> String {
    let f = |v: f64| {
        if v < 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.0}")
        }
    };
    format!("{} × {} mm", f(w), f(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(lungs: Option<BBox>) -> ChestGeometry {
        ChestGeometry {
            image_id: "img".into(),
            lung_region: lungs,
            width: 300,
            height: 300,
            pixel_spacing_mm: Some([0.2, 0.1]),
        }
    }
    fn bb(x0: f64, y0: f64, x1: f64, y1: f64) -> BBox {
        BBox::new(x0, y0, x1, y1).unwrap()
    }

    #[test]
    fn side_is_mirrored_and_zones_are_thirds() {
        let g = geo(None);
        // Image left, bottom third, far from the midline.
        assert_eq!(
            g.location(&bb(10.0, 220.0, 40.0, 260.0)),
            "right lower zone, peripheral"
        );
        // Image right, top third, near the midline.
        assert_eq!(
            g.location(&bb(160.0, 20.0, 190.0, 60.0)),
            "left upper zone, central"
        );
        // Middle third, near the midline: perihilar.
        assert_eq!(
            g.location(&bb(100.0, 120.0, 130.0, 160.0)),
            "right middle zone, perihilar"
        );
        // Spans middle and lower thirds.
        assert_eq!(
            g.location(&bb(250.0, 120.0, 290.0, 280.0)),
            "left middle and lower zones, peripheral"
        );
        // A small overhang (< 20 % of the box) into the next zone does not count.
        assert_eq!(
            g.location(&bb(10.0, 95.0, 40.0, 195.0)),
            "right middle zone, peripheral"
        );
    }

    #[test]
    fn crossing_the_midline_is_bilateral() {
        let g = geo(None);
        assert_eq!(
            g.location(&bb(60.0, 210.0, 240.0, 290.0)),
            "bilateral lower zones"
        );
        assert_eq!(
            g.location(&bb(10.0, 10.0, 290.0, 290.0)),
            "bilateral upper to lower zones"
        );
        // Touching the midline only by a sliver is not bilateral.
        assert_eq!(
            g.location(&bb(100.0, 210.0, 155.0, 290.0)),
            "right lower zone, central"
        );
    }

    #[test]
    fn lung_region_moves_the_thirds_and_midline() {
        // Lungs occupy x 100..300, y 0..150 of the image.
        let g = geo(Some(bb(100.0, 0.0, 300.0, 150.0)));
        // x centre 180 < midline 200: right; y 110..140 is the lower third of 0..150.
        assert_eq!(
            g.location(&bb(170.0, 110.0, 190.0, 140.0)),
            "right lower zone, central"
        );
        // Without the region, the same box is on the image's right half, upper-middle.
        assert_eq!(
            geo(None).location(&bb(170.0, 110.0, 190.0, 140.0)),
            "left middle zone, perihilar"
        );
    }

    #[test]
    fn size_uses_row_and_column_spacing() {
        let g = geo(None);
        // Column spacing 0.1 mm scales the width, row spacing 0.2 mm the height.
        assert_eq!(g.size_mm(&bb(0.0, 0.0, 100.0, 50.0)), Some((10.0, 10.0)));
        let mut unknown = g.clone();
        unknown.pixel_spacing_mm = None;
        assert_eq!(unknown.size_mm(&bb(0.0, 0.0, 100.0, 50.0)), None);
        unknown.pixel_spacing_mm = Some([0.0, 0.1]);
        assert_eq!(unknown.size_mm(&bb(0.0, 0.0, 100.0, 50.0)), None);
        assert_eq!(format_size_mm((42.4, 7.24)), "42 × 7.2 mm");
    }
}
