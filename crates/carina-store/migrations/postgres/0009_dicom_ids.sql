-- What DICOMweb needs of each image, read from the served (de-identified)
-- file at ingest: its UIDs, series and instance numbers and the study date
-- as stored (empty, so NULL, after de-identification). NULL on rows stored
-- before this version until the server's backfill has read their files.
ALTER TABLE images ADD COLUMN study_instance_uid TEXT;
ALTER TABLE images ADD COLUMN series_instance_uid TEXT;
ALTER TABLE images ADD COLUMN sop_instance_uid TEXT;
ALTER TABLE images ADD COLUMN sop_class_uid TEXT;
ALTER TABLE images ADD COLUMN series_number BIGINT;
ALTER TABLE images ADD COLUMN instance_number BIGINT;
ALTER TABLE images ADD COLUMN study_date TEXT;
CREATE INDEX images_study_instance_uid ON images(study_instance_uid);
CREATE INDEX images_sop_instance_uid ON images(sop_instance_uid);
