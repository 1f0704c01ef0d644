//! The allow-list applied after the profile: what a de-identified radiograph
//! keeps. Anything else is removed, whether the profile's table lists it or
//! not, so an attribute the table misses (a new one, a retired one, a
//! misspelt private tag in a public group) cannot carry an identifier through.
//!
//! Kept: the attributes needed to display and measure a radiograph (Image
//! Pixel, Modality LUT / rescale, VOI LUT and window, Presentation LUT, pixel
//! and imager pixel spacing and the geometry behind magnification,
//! photometric interpretation, lossy-compression facts, modality, view
//! position, laterality, body part, patient orientation), the identity of the
//! instance (SOP Class, and the keyed-hash Study / Series / SOP Instance /
//! Frame of Reference UIDs), the type 1 and 2 attributes of the CR, DX and
//! Secondary Capture IODs (as the profile left them: zero-length or dummy),
//! Burned In Annotation and Recognizable Visual Features, and the
//! de-identification markers (Patient Identity Removed, De-identification
//! Method and its Code Sequence). The retain options add their K attributes.

use dicom_core::Tag;

use super::profile::IodType;

/// An allowed attribute at the top level of the data set and its type in
/// the CR / DX / SC image IODs (which resolves the profile's combined codes).
const TOP: &[(Tag, IodType)] = &[
    (Tag(0x0008, 0x0005), IodType::Optional), // Specific Character Set (1C)
    (Tag(0x0008, 0x0008), IodType::One),      // Image Type
    (Tag(0x0008, 0x0016), IodType::One),      // SOP Class UID
    (Tag(0x0008, 0x0018), IodType::One),      // SOP Instance UID
    (Tag(0x0008, 0x0020), IodType::Two),      // Study Date
    (Tag(0x0008, 0x0023), IodType::Two),      // Content Date (2C)
    (Tag(0x0008, 0x0030), IodType::Two),      // Study Time
    (Tag(0x0008, 0x0033), IodType::Two),      // Content Time (2C)
    (Tag(0x0008, 0x0050), IodType::Two),      // Accession Number
    (Tag(0x0008, 0x0060), IodType::One),      // Modality
    (Tag(0x0008, 0x0064), IodType::One),      // Conversion Type (SC)
    (Tag(0x0008, 0x0068), IodType::One),      // Presentation Intent Type (DX)
    (Tag(0x0008, 0x0070), IodType::Two),      // Manufacturer
    (Tag(0x0008, 0x0090), IodType::Two),      // Referring Physician's Name
    (Tag(0x0010, 0x0010), IodType::Two),      // Patient's Name (the pseudonym)
    (Tag(0x0010, 0x0020), IodType::Two),      // Patient ID (the pseudonym)
    (Tag(0x0010, 0x0030), IodType::Two),      // Patient's Birth Date
    (Tag(0x0010, 0x0040), IodType::Two),      // Patient's Sex
    (Tag(0x0012, 0x0062), IodType::Optional), // Patient Identity Removed
    (Tag(0x0012, 0x0063), IodType::Optional), // De-identification Method
    (Tag(0x0012, 0x0064), IodType::Optional), // De-identification Method Code Sequence
    (Tag(0x0018, 0x0015), IodType::Optional), // Body Part Examined
    (Tag(0x0018, 0x1110), IodType::Optional), // Distance Source to Detector
    (Tag(0x0018, 0x1111), IodType::Optional), // Distance Source to Patient
    (Tag(0x0018, 0x1114), IodType::Optional), // Estimated Radiographic Magnification Factor
    (Tag(0x0018, 0x1164), IodType::Optional), // Imager Pixel Spacing
    (Tag(0x0018, 0x5100), IodType::Optional), // Patient Position
    (Tag(0x0018, 0x5101), IodType::Optional), // View Position
    (Tag(0x0020, 0x000D), IodType::One),      // Study Instance UID
    (Tag(0x0020, 0x000E), IodType::One),      // Series Instance UID
    (Tag(0x0020, 0x0010), IodType::Two),      // Study ID
    (Tag(0x0020, 0x0011), IodType::Two),      // Series Number
    (Tag(0x0020, 0x0013), IodType::Two),      // Instance Number
    (Tag(0x0020, 0x0020), IodType::Two),      // Patient Orientation
    (Tag(0x0020, 0x0052), IodType::Optional), // Frame of Reference UID
    (Tag(0x0020, 0x0060), IodType::Two),      // Laterality
    (Tag(0x0020, 0x0062), IodType::Optional), // Image Laterality
    (Tag(0x0028, 0x0002), IodType::One),      // Samples per Pixel
    (Tag(0x0028, 0x0004), IodType::One),      // Photometric Interpretation
    (Tag(0x0028, 0x0006), IodType::One),      // Planar Configuration (1C)
    (Tag(0x0028, 0x0008), IodType::One),      // Number of Frames
    (Tag(0x0028, 0x0009), IodType::One),      // Frame Increment Pointer
    (Tag(0x0028, 0x0010), IodType::One),      // Rows
    (Tag(0x0028, 0x0011), IodType::One),      // Columns
    (Tag(0x0028, 0x0030), IodType::Optional), // Pixel Spacing
    (Tag(0x0028, 0x0034), IodType::Optional), // Pixel Aspect Ratio
    (Tag(0x0028, 0x0100), IodType::One),      // Bits Allocated
    (Tag(0x0028, 0x0101), IodType::One),      // Bits Stored
    (Tag(0x0028, 0x0102), IodType::One),      // High Bit
    (Tag(0x0028, 0x0103), IodType::One),      // Pixel Representation
    (Tag(0x0028, 0x0106), IodType::Optional), // Smallest Image Pixel Value
    (Tag(0x0028, 0x0107), IodType::Optional), // Largest Image Pixel Value
    (Tag(0x0028, 0x0120), IodType::Optional), // Pixel Padding Value
    (Tag(0x0028, 0x0121), IodType::Optional), // Pixel Padding Range Limit
    (Tag(0x0028, 0x0301), IodType::One),      // Burned In Annotation
    (Tag(0x0028, 0x0302), IodType::Optional), // Recognizable Visual Features
    (Tag(0x0028, 0x0A02), IodType::Optional), // Pixel Spacing Calibration Type
    (Tag(0x0028, 0x1040), IodType::One),      // Pixel Intensity Relationship
    (Tag(0x0028, 0x1041), IodType::One),      // Pixel Intensity Relationship Sign
    (Tag(0x0028, 0x1050), IodType::Optional), // Window Center
    (Tag(0x0028, 0x1051), IodType::Optional), // Window Width
    (Tag(0x0028, 0x1052), IodType::One),      // Rescale Intercept
    (Tag(0x0028, 0x1053), IodType::One),      // Rescale Slope
    (Tag(0x0028, 0x1054), IodType::One),      // Rescale Type
    (Tag(0x0028, 0x1056), IodType::Optional), // VOI LUT Function
    (Tag(0x0028, 0x1101), IodType::One),      // Red Palette Color LUT Descriptor
    (Tag(0x0028, 0x1102), IodType::One),      // Green Palette Color LUT Descriptor
    (Tag(0x0028, 0x1103), IodType::One),      // Blue Palette Color LUT Descriptor
    (Tag(0x0028, 0x1201), IodType::One),      // Red Palette Color LUT Data
    (Tag(0x0028, 0x1202), IodType::One),      // Green Palette Color LUT Data
    (Tag(0x0028, 0x1203), IodType::One),      // Blue Palette Color LUT Data
    (Tag(0x0028, 0x2000), IodType::Optional), // ICC Profile
    (Tag(0x0028, 0x2002), IodType::Optional), // Color Space
    (Tag(0x0028, 0x2110), IodType::One),      // Lossy Image Compression
    (Tag(0x0028, 0x2112), IodType::Optional), // Lossy Image Compression Ratio
    (Tag(0x0028, 0x2114), IodType::Optional), // Lossy Image Compression Method
    (Tag(0x0028, 0x3000), IodType::Optional), // Modality LUT Sequence
    (Tag(0x0028, 0x3010), IodType::Optional), // VOI LUT Sequence
    (Tag(0x2050, 0x0020), IodType::One),      // Presentation LUT Shape
    (Tag(0x7FE0, 0x0001), IodType::Optional), // Extended Offset Table
    (Tag(0x7FE0, 0x0002), IodType::Optional), // Extended Offset Table Lengths
    (Tag(0x7FE0, 0x0008), IodType::Optional), // Float Pixel Data
    (Tag(0x7FE0, 0x0009), IodType::Optional), // Double Float Pixel Data
    (Tag(0x7FE0, 0x0010), IodType::One),      // Pixel Data
];

const MODALITY_LUT_SEQUENCE: Tag = Tag(0x0028, 0x3000);
const VOI_LUT_SEQUENCE: Tag = Tag(0x0028, 0x3010);
pub(super) const DEID_METHOD_CODE_SEQUENCE: Tag = Tag(0x0012, 0x0064);

/// Items of the Modality and VOI LUT Sequences: descriptor, type, data (the
/// free-text LUT Explanation is not kept).
const LUT_ITEM: &[Tag] = &[
    Tag(0x0028, 0x3002), // LUT Descriptor
    Tag(0x0028, 0x3004), // Modality LUT Type
    Tag(0x0028, 0x3006), // LUT Data
];

/// Items of the De-identification Method Code Sequence (written by Carina).
const CODE_ITEM: &[Tag] = &[
    Tag(0x0008, 0x0100), // Code Value
    Tag(0x0008, 0x0102), // Coding Scheme Designator
    Tag(0x0008, 0x0103), // Coding Scheme Version
    Tag(0x0008, 0x0104), // Code Meaning
];

/// Where an attribute sits: the top level, or an item of this sequence.
#[derive(Debug, Clone, Copy)]
pub(super) enum Parent {
    Top,
    Item(Tag),
}

/// Whether the allow-list keeps `tag` at this place.
pub(super) fn allowed(tag: Tag, parent: Parent) -> bool {
    match parent {
        Parent::Top => TOP.iter().any(|(t, _)| *t == tag),
        Parent::Item(MODALITY_LUT_SEQUENCE | VOI_LUT_SEQUENCE) => LUT_ITEM.contains(&tag),
        Parent::Item(DEID_METHOD_CODE_SEQUENCE) => CODE_ITEM.contains(&tag),
        Parent::Item(_) => false,
    }
}

/// The attribute's type in the CR / DX / SC IODs at this place.
pub(super) fn iod_type(tag: Tag, parent: Parent) -> IodType {
    match parent {
        Parent::Top => TOP
            .iter()
            .find(|(t, _)| *t == tag)
            .map_or(IodType::Optional, |(_, ty)| *ty),
        Parent::Item(_) if allowed(tag, parent) => IodType::One,
        Parent::Item(_) => IodType::Optional,
    }
}

/// Every attribute the allow-list can keep at the top level (for the docs and tests).
pub fn allowed_top_level() -> impl Iterator<Item = Tag> {
    TOP.iter().map(|(t, _)| *t)
}
