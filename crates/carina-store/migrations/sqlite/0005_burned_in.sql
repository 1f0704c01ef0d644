-- Burned In Annotation (0028,0301) of an uploaded DICOM file: 'yes', 'no' or
-- 'unknown' (absent where burned-in text is common); NULL for PNG/JPEG.
-- Flagged images ('yes', 'unknown') are left out of exports until an admin
-- confirms them (burned_in_confirmed_by / _at).
ALTER TABLE images ADD COLUMN burned_in_annotation TEXT CHECK (burned_in_annotation IN ('yes', 'no', 'unknown'));
ALTER TABLE images ADD COLUMN burned_in_confirmed_by TEXT;
ALTER TABLE images ADD COLUMN burned_in_confirmed_at BIGINT;
-- DICOM files stored before this migration were never checked: flag them.
UPDATE images SET burned_in_annotation = 'unknown' WHERE format = 'dicom';
