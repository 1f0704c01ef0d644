-- Reports (signed versions immutable), blind reading by several radiologists,
-- and the reviewer's consensus. Times are Unix milliseconds. Same tables and
-- rules as migrations/sqlite/0003_reports_readings.sql.

CREATE TABLE reports (
    id BIGSERIAL PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'signed', 'amended', 'superseded')),
    study_pseudonym TEXT,
    patient_pseudonym TEXT,
    impression TEXT NOT NULL DEFAULT '',
    no_finding BOOLEAN NOT NULL DEFAULT FALSE,
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

CREATE TABLE report_images (
    report_id BIGINT NOT NULL REFERENCES reports(id),
    image_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (report_id, image_id)
);
CREATE INDEX report_images_image ON report_images(image_id);

-- A signed version never changes, except being marked superseded once.
CREATE FUNCTION reports_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'a signed report is immutable; amend it';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND NOT (
        OLD.status IN ('signed', 'amended') AND NEW.status = 'superseded'
        AND OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL
        AND (NEW.id, NEW.version, NEW.study_pseudonym, NEW.patient_pseudonym, NEW.impression,
             NEW.no_finding, NEW.findings_json, NEW.author, NEW.created_at, NEW.updated_at,
             NEW.updated_by, NEW.signed_by, NEW.signed_at, NEW.supersedes)
            IS NOT DISTINCT FROM
            (OLD.id, OLD.version, OLD.study_pseudonym, OLD.patient_pseudonym, OLD.impression,
             OLD.no_finding, OLD.findings_json, OLD.author, OLD.created_at, OLD.updated_at,
             OLD.updated_by, OLD.signed_by, OLD.signed_at, OLD.supersedes)
    ) THEN
        RAISE EXCEPTION 'a signed report is immutable; amend it';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_signed_immutable BEFORE UPDATE OR DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION reports_guard();

CREATE FUNCTION report_images_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'report_images rows never change';
    END IF;
    IF (SELECT status FROM reports WHERE id = OLD.report_id) <> 'draft' THEN
        RAISE EXCEPTION 'a signed report is immutable; amend it';
    END IF;
    RETURN OLD;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER report_images_guard BEFORE UPDATE OR DELETE ON report_images
    FOR EACH ROW EXECUTE FUNCTION report_images_guard();

CREATE TABLE reading_assignments (
    image_id BIGINT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    reviewer TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    consensus_json TEXT,
    consensus_at BIGINT,
    consensus_by TEXT
);

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
CREATE FUNCTION readings_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'submitted' THEN
        RAISE EXCEPTION 'a submitted reading cannot change';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER readings_submitted_frozen BEFORE UPDATE ON readings
    FOR EACH ROW EXECUTE FUNCTION readings_guard();

-- Consensus boxes: human boxes that also list the readers they were fused from.
ALTER TABLE boxes ADD COLUMN consensus_readers TEXT
    CHECK (consensus_readers IS NULL OR source_kind = 'radiologist');
