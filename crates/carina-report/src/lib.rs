//! Carina's radiology reports, as a library the server calls (no HTTP, SQL
//! or tensors here).
//!
//! - [`model`]: [`ReportDraft`] (editable) → [`ReportDraft::sign`] →
//!   [`Report`] (immutable); [`Report::amend`] starts a new version.
//! - [`location`]: readable locations ("right lower zone, peripheral") and
//!   sizes in mm from a box on a PA chest radiograph.
//! - [`render_html`]: a self-contained, auto-escaped HTML page with the
//!   annotated thumbnail ([`raster`]), findings table, impression, signature.
//! - [`render_pdf`]: the same as a PDF (pdf-writer) with real Unicode
//!   text in DejaVu Sans, embedded as a subset of the glyphs used (Latin,
//!   Greek and Cyrillic; see [`pdf`]), and the thumbnail as an image.
//! - [`fhir`]: export as a FHIR R4 DiagnosticReport ([`to_fhir`]) and a
//!   structural check of such a resource ([`validate_diagnostic_report`]).
//! - [`agreement`]: Cohen's and Fleiss' kappa, mean IoU of matched boxes
//!   between readers, model-versus-consensus precision/recall/F1.
//!
//! ```
//! use carina_core::BBox;
//! use carina_report::{ChestGeometry, FoundBy, ReportContent, ReportDraft, ReportFinding};
//!
//! let geo = ChestGeometry { image_id: "img-1".into(), lung_region: None, width: 1000, height: 1000, pixel_spacing_mm: Some([0.2, 0.2]) };
//! let finding = ReportFinding::new(
//!     "Nodule/Mass",
//!     BBox::new(100.0, 700.0, 200.0, 800.0).unwrap(),
//!     FoundBy::Radiologist { user: "ann".into() },
//!     None,
//!     &geo,
//! );
//! assert_eq!(finding.location, "right lower zone, peripheral");
//! let mut draft = ReportDraft::new("r1", ReportContent::default()).unwrap();
//! draft.content.findings.push(finding);
//! draft.content.impression = "Nodule in the right lower zone.".into();
//! let signed = draft.sign("ann", "2024-05-01T10:20:30Z").unwrap();
//! let v2 = signed.amend("r2").unwrap();
//! assert_eq!((v2.version(), v2.amends()), (2, Some("r1")));
//! ```

pub mod agreement;
pub mod fhir;
pub mod html;
pub mod location;
pub mod model;
pub mod pdf;
pub mod raster;
pub mod time;
pub mod view;

pub use fhir::{to_fhir, validate_diagnostic_report};
pub use html::render_html;
pub use location::{ChestGeometry, format_size_mm};
pub use model::{
    FoundBy, RESEARCH_DISCLAIMER, Report, ReportContent, ReportDraft, ReportError, ReportFinding,
    ReportStatus, ReportSubject, SYNTHETIC_DISCLAIMER,
};
pub use pdf::render_pdf;
pub use raster::ReportImage;
