-- What the pages call an image: the DICOM View Position (kept by
-- de-identification) and a label an admin may give it; the pseudonym
-- indexes back the per-patient and per-study numbering of the image list.
ALTER TABLE images ADD COLUMN view_position TEXT;
ALTER TABLE images ADD COLUMN display_label TEXT;
CREATE INDEX images_patient_pseudonym ON images(patient_pseudonym);
CREATE INDEX images_study_pseudonym ON images(study_pseudonym);
