"""dicomweb-client against Carina: argv = base URL, a DICOM file to store,
comma-separated original values that must never be served. The token is in
CARINA_TOKEN. Prints a JSON summary as its last line; any failed check
raises."""
import json
import os
import sys

import pydicom
from dicomweb_client.api import DICOMwebClient

base, to_store, originals = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
client = DICOMwebClient(url=base, headers={"Authorization": "Bearer " + os.environ["CARINA_TOKEN"]})


def check_text(what, text):
    for name in originals:
        assert name not in text, f"{what} serves {name!r}"


def check_uid(uid):
    assert uid.startswith("2.25."), f"not a de-identified UID: {uid}"


studies = client.search_for_studies()
check_text("QIDO studies", json.dumps(studies))
for s in studies:
    check_uid(s["0020000D"]["Value"][0])
study = studies[0]["0020000D"]["Value"][0]
series = client.search_for_series(study_instance_uid=study)
check_text("QIDO series", json.dumps(series))
series_uid = series[0]["0020000E"]["Value"][0]
check_uid(series_uid)
instances = client.search_for_instances(study_instance_uid=study, series_instance_uid=series_uid)
sop = instances[0]["00080018"]["Value"][0]
check_uid(sop)
assert client.search_for_studies(search_filters={"PatientID": "nobody"}) == []

ds = client.retrieve_instance(study, series_uid, sop)
assert ds.SOPInstanceUID == sop and ds.StudyInstanceUID == study, ds.SOPInstanceUID
assert ds.PatientIdentityRemoved == "YES"
check_text("WADO instance", str(ds))
pixels = ds.pixel_array
assert pixels.shape[0] == ds.Rows

meta = client.retrieve_study_metadata(study)
check_text("WADO metadata", json.dumps(meta))
assert meta and all("7FE00010" not in m for m in meta)
parsed = pydicom.Dataset.from_json(meta[0])
check_uid(parsed.SOPInstanceUID)

rendered = client.retrieve_instance_rendered(study, series_uid, sop, media_types=("image/jpeg",))
assert rendered[:2] == b"\xff\xd8", "not a JPEG"
rendered_png = client.retrieve_instance_rendered(study, series_uid, sop, media_types=("image/png",))
assert rendered_png[:4] == b"\x89PNG"

posted = pydicom.dcmread(to_store)
result = client.store_instances([posted])
check_text("STOW response", json.dumps(result.to_json_dict()))
refs = result.ReferencedSOPSequence
assert len(refs) == 1 and "FailedSOPSequence" not in result
check_uid(refs[0].ReferencedSOPInstanceUID)
assert refs[0].ReferencedSOPInstanceUID != posted.SOPInstanceUID
after = client.search_for_instances(search_filters={"SOPInstanceUID": refs[0].ReferencedSOPInstanceUID}, study_instance_uid=study) \
    or client.search_for_studies()
check_text("QIDO after STOW", json.dumps(after))

print(json.dumps({"studies": len(studies), "stored": len(refs), "rendered_bytes": len(rendered)}))
