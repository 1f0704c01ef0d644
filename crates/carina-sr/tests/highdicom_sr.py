"""highdicom's side of carina-sr's external-reader tests (tests/external.rs).

    python highdicom_sr.py read SR_PATH
        Reads an SR with highdicom.sr.srread, finds the TID 1500 report with
        MeasurementReport.from_sequence and prints, as JSON, each planar ROI
        group's tracking UID, finding code, graphic type and data, and the
        referenced SOP instance UID.

    python highdicom_sr.py write SR_PATH
        Writes a TID 1500 SR with highdicom's API about a made-up image: a
        rectangle as an open 4-point POLYLINE (Pneumothorax), a CIRCLE
        (Mass), and a group without a region. Prints what it wrote as JSON.

    python highdicom_sr.py write-on IMAGE_PATH SR_PATH
        Writes a TID 1500 SR with highdicom's API about the DICOM image at
        IMAGE_PATH (as a viewer would about an image Carina serves): one
        rectangle as an open 4-point POLYLINE, Pneumothorax.

    python highdicom_sr.py read-report SR_PATH
        Reads a report SR (TID 2000) with highdicom.sr.srread and prints, as
        JSON, its SOP class, title, verification, the finding codes, the
        impression texts and the referenced SOP instance UIDs.
"""

import json
import sys

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian


def code_json(c):
    return {"scheme": c.scheme_designator, "value": c.value, "meaning": c.meaning}


def read(path):
    sr = hd.sr.srread(path)
    # The root content item is the SR data set itself.
    report = hd.sr.MeasurementReport.from_sequence([sr])
    groups = []
    for g in report.get_planar_roi_measurement_groups():
        roi = g.roi
        refs = roi.ContentSequence[0].ReferencedSOPSequence
        groups.append({
            "tracking_uid": str(g.tracking_uid),
            "tracking_id": g.tracking_identifier,
            "finding": code_json(g.finding_type),
            "graphic_type": roi.graphic_type.value,
            "graphic_data": roi.value.tolist(),
            "referenced_sop_instance_uid": str(refs[0].ReferencedSOPInstanceUID),
        })
    observers = [
        {"type": code_json(o.observer_type), "name": str(getattr(o.observer_identifying_attributes, "name", ""))}
        for o in report.get_observer_contexts()
    ]
    print(json.dumps({"sop_class_uid": str(sr.SOPClassUID), "groups": groups, "observers": observers}))


def source_image():
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR
    ds.SOPInstanceUID = hd.UID()
    ds.StudyInstanceUID = hd.UID()
    ds.SeriesInstanceUID = hd.UID()
    ds.PatientID = "PSEUDO-HD"
    ds.PatientName = "PSEUDO-HD"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.StudyDate = "20200101"
    ds.StudyTime = "120000"
    ds.ReferringPhysicianName = ""
    ds.Modality = "CR"
    ds.Rows = 2000
    ds.Columns = 1800
    return ds


def write(path):
    img = source_image()
    source = hd.sr.SourceImageForRegion.from_source_image(img)
    rect = np.array([[100.25, 200.5], [400.75, 200.5], [400.75, 650.0], [100.25, 650.0]])
    circle = np.array([[900.0, 1000.0], [900.0, 1100.5]])
    groups = [
        hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="viewer rectangle"),
            referenced_region=hd.sr.ImageRegion(
                graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=rect, source_image=source
            ),
            finding_type=codes.SCT.Pneumothorax,
        ),
        hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="viewer circle"),
            referenced_region=hd.sr.ImageRegion(
                graphic_type=hd.sr.GraphicTypeValues.CIRCLE, graphic_data=circle, source_image=source
            ),
            finding_type=codes.SCT.Mass,
        ),
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="whole image"),
            finding_type=codes.SCT.Cardiomegaly,
        ),
    ]
    observer = hd.sr.ObservationContext(
        observer_person_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name="Viewer^User"),
        )
    )
    report = hd.sr.MeasurementReport(
        observation_context=observer,
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[img],
        content=report,
        series_number=1,
        series_instance_uid=hd.UID(),
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Some Viewer",
    )
    sr.save_as(path)
    print(json.dumps({
        "image_sop_instance_uid": str(img.SOPInstanceUID),
        "boxes": [
            {"label": "Pneumothorax", "bbox": [100.25, 200.5, 400.75, 650.0], "graphic_type": "POLYLINE"},
            {"label": "Nodule/Mass", "bbox": [799.5, 899.5, 1000.5, 1100.5], "graphic_type": "CIRCLE"},
        ],
    }))


def write_on(image_path, path):
    import pydicom

    img = pydicom.dcmread(image_path, stop_before_pixels=True)
    source = hd.sr.SourceImageForRegion.from_source_image(img)
    rect = np.array([[10.5, 20.25], [50.75, 20.25], [50.75, 60.0], [10.5, 60.0]])
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="viewer rectangle"),
        referenced_region=hd.sr.ImageRegion(
            graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=rect, source_image=source
        ),
        finding_type=codes.SCT.Pneumothorax,
    )
    observer = hd.sr.ObservationContext(
        observer_person_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name="Viewer^User"),
        )
    )
    report = hd.sr.MeasurementReport(
        observation_context=observer,
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=[group],
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[img],
        content=report,
        series_number=1,
        series_instance_uid=hd.UID(),
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Some Viewer",
    )
    sr.save_as(path)
    print(json.dumps({"bbox": [10.5, 20.25, 50.75, 60.0], "label": "Pneumothorax"}))


def read_report(path):
    sr = hd.sr.srread(path)
    findings, texts, refs = [], [], []

    def walk(items):
        for it in items:
            name = it.ConceptNameCodeSequence[0].CodeValue if "ConceptNameCodeSequence" in it else ""
            if it.ValueType == "CODE" and name == "121071":
                c = it.ConceptCodeSequence[0]
                findings.append({"scheme": c.CodingSchemeDesignator, "value": c.CodeValue, "meaning": c.CodeMeaning})
            if it.ValueType == "TEXT":
                texts.append({"name": name, "value": str(it.TextValue)})
            if it.ValueType == "IMAGE":
                refs.append(str(it.ReferencedSOPSequence[0].ReferencedSOPInstanceUID))
            if "ContentSequence" in it:
                walk(it.ContentSequence)

    walk(sr.ContentSequence)
    print(json.dumps({
        "sop_class_uid": str(sr.SOPClassUID),
        "title": sr.ConceptNameCodeSequence[0].CodeMeaning,
        "verification": str(sr.VerificationFlag),
        "verifier": str(sr.VerifyingObserverSequence[0].VerifyingObserverName),
        "findings": findings,
        "texts": texts,
        "image_refs": refs,
    }))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "write-on":
        write_on(sys.argv[2], sys.argv[3])
    else:
        {"read": read, "write": write, "read-report": read_report}[mode](sys.argv[2])
