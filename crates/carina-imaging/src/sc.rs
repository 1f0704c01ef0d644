//! Writing any [`GrayImage`] as an uncompressed DICOM Secondary Capture, so
//! that the browser viewer loads every image through one DICOM path.

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

use crate::uid::{sha256, uid_from_hash};
use crate::{GrayImage, ImageMeta, ImagingError};

/// Our implementation class UID (2.25 root, fixed) and version name.
pub(crate) const IMPLEMENTATION_CLASS_UID: &str = "2.25.178349563254208817327512958016632704577";
pub(crate) const IMPLEMENTATION_VERSION: &str = "CARINA_010";

/// Encode `img` as a Secondary Capture Image Storage file, Explicit VR Little
/// Endian, MONOCHROME2, BitsStored = `img.bits` (8 or 16 bits allocated), with
/// `meta.window` as its Window Center/Width and `meta.pixel_spacing` (if any)
/// as Pixel Spacing.
///
/// The UIDs are derived from the pixel values, so the same pixels give the
/// same file. A de-identified `meta` (from a de-identified DICOM) passes its
/// patient/study/series pseudonyms on; nothing else about the patient is written.
pub fn to_secondary_capture(img: &GrayImage, meta: &ImageMeta) -> Result<Vec<u8>, ImagingError> {
    check_writable(img)?;
    let eight = img.bits <= 8;
    let pixel_bytes: Vec<u8> = if eight {
        img.data.iter().map(|&v| v.min(255) as u8).collect()
    } else {
        img.data.iter().flat_map(|v| v.to_le_bytes()).collect()
    };
    let ids = Identity::derive(img, meta, &pixel_bytes);
    let mut obj = InMemDicomObject::new_empty();
    put_identity(&mut obj, &ids, meta);
    put_image(&mut obj, img, meta, pixel_bytes);
    write_file(obj, ids.sop)
}

/// Refuses an image whose values do not fill it or that DICOM cannot hold.
fn check_writable(img: &GrayImage) -> Result<(), ImagingError> {
    if img.data.len() as u64 != u64::from(img.width) * u64::from(img.height)
        || img.width == 0
        || img.height == 0
        || img.width > 65535
        || img.height > 65535
    {
        return Err(ImagingError::InvalidArgument(format!(
            "cannot write a {}×{} image with {} values as DICOM",
            img.width,
            img.height,
            img.data.len()
        )));
    }
    Ok(())
}

/// The UIDs and patient of the file: the pseudonyms of a de-identified
/// `meta`, else derived from the pixel values.
struct Identity {
    sop: String,
    study: String,
    series: String,
    patient: String,
}

impl Identity {
    fn derive(img: &GrayImage, meta: &ImageMeta, pixel_bytes: &[u8]) -> Self {
        let digest = sha256(&[
            &img.width.to_le_bytes(),
            &img.height.to_le_bytes(),
            &[img.bits],
            pixel_bytes,
        ]);
        let derive = |what: &str| uid_from_hash(&sha256(&[what.as_bytes(), &digest]));
        Identity {
            sop: derive("sop"),
            study: meta
                .study_pseudonym
                .clone()
                .unwrap_or_else(|| derive("study")),
            series: meta
                .series_pseudonym
                .clone()
                .unwrap_or_else(|| derive("series")),
            patient: meta
                .patient_pseudonym
                .clone()
                .unwrap_or_else(|| format!("CARINA-{}", &crate::uid::hex(&digest)[..12])),
        }
    }
}

fn put_element(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: PrimitiveValue) {
    obj.put(DataElement::new(tag, vr, value));
}

/// SOP, patient, study and series: the pseudonyms and empty type 2 elements.
fn put_identity(obj: &mut InMemDicomObject, ids: &Identity, meta: &ImageMeta) {
    let mut put = |tag, vr, value: PrimitiveValue| put_element(obj, tag, vr, value);
    put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192".into());
    put(
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::Strs(["DERIVED".into(), "SECONDARY".into()].into()),
    );
    put(
        tags::SOP_CLASS_UID,
        VR::UI,
        uids::SECONDARY_CAPTURE_IMAGE_STORAGE.into(),
    );
    put(tags::SOP_INSTANCE_UID, VR::UI, ids.sop.clone().into());
    put(tags::STUDY_DATE, VR::DA, "".into());
    put(tags::STUDY_TIME, VR::TM, "".into());
    put(tags::ACCESSION_NUMBER, VR::SH, "".into());
    put(
        tags::MODALITY,
        VR::CS,
        meta.modality.clone().unwrap_or_else(|| "OT".into()).into(),
    );
    put(tags::CONVERSION_TYPE, VR::CS, "WSD".into());
    put(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "".into());
    put(tags::PATIENT_NAME, VR::PN, ids.patient.clone().into());
    put(tags::PATIENT_ID, VR::LO, ids.patient.clone().into());
    put(tags::PATIENT_BIRTH_DATE, VR::DA, "".into());
    put(tags::PATIENT_SEX, VR::CS, "".into());
    put(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES".into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, ids.study.clone().into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, ids.series.clone().into());
    put(tags::STUDY_ID, VR::SH, "".into());
    put(tags::SERIES_NUMBER, VR::IS, "1".into());
    put(tags::INSTANCE_NUMBER, VR::IS, "1".into());
    put(tags::PATIENT_ORIENTATION, VR::CS, "".into());
}

/// The image pixel module, spacing, rescale and window, and the pixels.
fn put_image(obj: &mut InMemDicomObject, img: &GrayImage, meta: &ImageMeta, pixel_bytes: Vec<u8>) {
    let eight = img.bits <= 8;
    let mut put = |tag, vr, value: PrimitiveValue| put_element(obj, tag, vr, value);
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2".into(),
    );
    put(tags::ROWS, VR::US, PrimitiveValue::from(img.height as u16));
    put(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(img.width as u16),
    );
    if let Some([r, c]) = meta.pixel_spacing {
        put(
            tags::PIXEL_SPACING,
            VR::DS,
            PrimitiveValue::Strs([ds(r), ds(c)].into()),
        );
    }
    let allocated: u16 = if eight { 8 } else { 16 };
    put(
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(allocated),
    );
    put(
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(u16::from(img.bits)),
    );
    put(
        tags::HIGH_BIT,
        VR::US,
        PrimitiveValue::from(u16::from(img.bits) - 1),
    );
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0_u16),
    );
    put(tags::RESCALE_INTERCEPT, VR::DS, "0".into());
    put(tags::RESCALE_SLOPE, VR::DS, "1".into());
    put(tags::RESCALE_TYPE, VR::LO, "US".into());
    put(tags::WINDOW_CENTER, VR::DS, ds(meta.window.center).into());
    put(
        tags::WINDOW_WIDTH,
        VR::DS,
        ds(meta.window.width.max(1.0)).into(),
    );
    // No VOI LUT Function: LINEAR is the default when it is absent, and the
    // browser viewer's DICOM loader (dicom-image-loader 5.14) mis-reads the
    // element ("LINEAR" → "L") and refuses the image.
    put(
        tags::PIXEL_DATA,
        if eight { VR::OB } else { VR::OW },
        PrimitiveValue::U8(pixel_bytes.into()),
    );
}

/// The Part 10 file: meta group (Explicit VR Little Endian) and data set.
fn write_file(obj: InMemDicomObject, sop_uid: String) -> Result<Vec<u8>, ImagingError> {
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
                .media_storage_sop_instance_uid(sop_uid)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name(IMPLEMENTATION_VERSION),
        )
        .map_err(|e| ImagingError::Encode(e.to_string()))?;
    let mut out = Vec::new();
    file.write_all(&mut out)
        .map_err(|e| ImagingError::Encode(e.to_string()))?;
    Ok(out)
}

/// A decimal string (DS, at most 16 characters).
pub(crate) fn ds(v: f64) -> String {
    let mut s = format!("{}", (v * 1e4).round() / 1e4);
    if s.len() > 16 {
        s = format!("{v:.6e}");
    }
    s
}
