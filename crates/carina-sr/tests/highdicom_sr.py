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


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
