-- The send job: C-STORE of an image and/or its SR to a DICOM peer.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('predict', 'train', 'send'));
