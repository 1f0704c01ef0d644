-- Reports (signed versions immutable), blind reading by several radiologists,
-- and the reviewer's consensus. Times are Unix milliseconds.

-- One version of a report. A signed version never changes: the only update
-- the triggers allow on it is being marked 'superseded' (once) when an
-- amendment of it is signed. An amendment is a new row with version + 1 and
-- `supersedes` pointing at the version it corrects; both are kept.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'signed', 'amended', 'superseded')),
    study_pseudonym TEXT,
    patient_pseudonym TEXT,
    impression TEXT NOT NULL DEFAULT '',
    no_finding BOOLEAN NOT NULL DEFAULT FALSE,
    -- The findings as they were when the report was written (JSON list of
    -- class, bbox, location, size in mm, who found it, confidence).
    findings_json TEXT NOT NULL DEFAULT '[]',
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    signed_by TEXT,
    signed_at BIGINT,
    supersedes BIGINT UNIQUE REFERENCES reports(id),
    superseded_by BIGINT REFERENCES reports(id),
    CHECK ((status = 'draft') = (signed_by IS NULL)),
    CHECK ((signed_by IS NULL) = (signed_at IS NULL))
);
CREATE INDEX reports_updated_at ON reports(updated_at);

-- The images a report covers (one, or several of one study). No foreign key
-- to images: a signed report outlives a deleted image.
CREATE TABLE report_images (
    report_id BIGINT NOT NULL REFERENCES reports(id),
    image_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (report_id, image_id)
);
CREATE INDEX report_images_image ON report_images(image_id);

CREATE TRIGGER reports_signed_immutable BEFORE UPDATE ON reports
WHEN OLD.status <> 'draft' AND NOT (
    OLD.status IN ('signed', 'amended') AND NEW.status = 'superseded'
    AND OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.version IS OLD.version
    AND NEW.study_pseudonym IS OLD.study_pseudonym
    AND NEW.patient_pseudonym IS OLD.patient_pseudonym
    AND NEW.impression IS OLD.impression AND NEW.no_finding IS OLD.no_finding
    AND NEW.findings_json IS OLD.findings_json AND NEW.author IS OLD.author
    AND NEW.created_at IS OLD.created_at AND NEW.updated_at IS OLD.updated_at
    AND NEW.updated_by IS OLD.updated_by AND NEW.signed_by IS OLD.signed_by
    AND NEW.signed_at IS OLD.signed_at AND NEW.supersedes IS OLD.supersedes)
BEGIN SELECT RAISE(ABORT, 'a signed report is immutable; amend it'); END;
CREATE TRIGGER reports_signed_no_delete BEFORE DELETE ON reports
WHEN OLD.status <> 'draft'
BEGIN SELECT RAISE(ABORT, 'a signed report is immutable; amend it'); END;
CREATE TRIGGER report_images_no_update BEFORE UPDATE ON report_images
BEGIN SELECT RAISE(ABORT, 'report_images rows never change'); END;
CREATE TRIGGER report_images_signed_no_delete BEFORE DELETE ON report_images
WHEN (SELECT status FROM reports WHERE id = OLD.report_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'a signed report is immutable; amend it'); END;

-- Blind reading: an image assigned to several radiologists and a reviewer.
CREATE TABLE reading_assignments (
    image_id BIGINT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    reviewer TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- The last fusion: parameters, readers and fused boxes (JSON).
    consensus_json TEXT,
    consensus_at BIGINT,
    consensus_by TEXT
);

-- Each reader's own boxes for the image, apart from the image's annotations
-- until the reviewer fuses them. Versioned like the annotations; frozen once
-- submitted.
CREATE TABLE readings (
    image_id BIGINT NOT NULL REFERENCES reading_assignments(image_id) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'assigned' CHECK (status IN ('assigned', 'submitted')),
    version BIGINT NOT NULL DEFAULT 0,
    no_finding BOOLEAN NOT NULL DEFAULT FALSE,
    boxes_json TEXT NOT NULL DEFAULT '[]',
    assigned_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT,
    PRIMARY KEY (image_id, reader)
);
CREATE INDEX readings_reader ON readings(reader);
CREATE TRIGGER readings_submitted_frozen BEFORE UPDATE ON readings
WHEN OLD.status = 'submitted'
BEGIN SELECT RAISE(ABORT, 'a submitted reading cannot change'); END;

-- Consensus boxes in the annotations: a human box (source_kind 'radiologist',
-- source_user the reviewer) that also lists the readers it was fused from
-- (JSON list). A column rather than a new source_kind value, so the boxes
-- table needs no rebuild (SQLite cannot alter a CHECK constraint).
ALTER TABLE boxes ADD COLUMN consensus_readers TEXT
    CHECK (consensus_readers IS NULL OR source_kind = 'radiologist');
