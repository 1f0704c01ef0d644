//! The files Carina embeds, each embedded once, from this crate's own
//! folders (no other crate reaches outside itself for a file):
//!
//! - `fonts/DejaVuSans.ttf`: DejaVu Sans 2.37 (Bitstream Vera licence,
//!   `fonts/DejaVuSans-LICENSE.txt`), for the evaluation and training
//!   figures and the PDF reports, so they look the same on every machine.
//! - `models/carina-demo/`: the demo detector the workbench registers on an
//!   empty registry (trained on SYNTHETIC radiographs only; see its
//!   `MODEL_CARD.md`; not for clinical use).

/// DejaVu Sans (TrueType).
pub const DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// The PostScript name of [`DEJAVU_SANS`].
pub const DEJAVU_SANS_NAME: &str = "DejaVuSans";

/// The bundled demo detector (`models/carina-demo/`).
pub mod demo_model {
    /// `model.safetensors` (float16 weights, effdet names).
    pub const WEIGHTS: &[u8] = include_bytes!("../models/carina-demo/model.safetensors");
    /// `model.json`.
    pub const MODEL_JSON: &str = include_str!("../models/carina-demo/model.json");
    /// `MODEL_CARD.md`.
    pub const CARD: &str = include_str!("../models/carina-demo/MODEL_CARD.md");
    /// The folder, for tests and tools that read it from disk.
    pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/carina-demo");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_font_is_truetype_and_the_model_card_says_synthetic() {
        assert_eq!(&super::DEJAVU_SANS[..4], &[0, 1, 0, 0]);
        assert!(
            super::demo_model::MODEL_JSON.contains("\"synthetic\": true"),
            "the demo model is labelled as trained on synthetic data"
        );
        assert!(
            std::path::Path::new(super::demo_model::DIR)
                .join("model.json")
                .is_file()
        );
    }
}
