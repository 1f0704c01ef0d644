-- Report ownership: a draft is edited and signed by its author, or by an
-- admin taking it over; the take-over is recorded on the report (who, when).
ALTER TABLE reports ADD COLUMN taken_over_by TEXT;
ALTER TABLE reports ADD COLUMN taken_over_at BIGINT;

-- The signed-row guard of 0003, now covering the two new columns.
CREATE OR REPLACE FUNCTION reports_guard() RETURNS trigger AS $$
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
             NEW.updated_by, NEW.signed_by, NEW.signed_at, NEW.supersedes,
             NEW.taken_over_by, NEW.taken_over_at)
            IS NOT DISTINCT FROM
            (OLD.id, OLD.version, OLD.study_pseudonym, OLD.patient_pseudonym, OLD.impression,
             OLD.no_finding, OLD.findings_json, OLD.author, OLD.created_at, OLD.updated_at,
             OLD.updated_by, OLD.signed_by, OLD.signed_at, OLD.supersedes,
             OLD.taken_over_by, OLD.taken_over_at)
    ) THEN
        RAISE EXCEPTION 'a signed report is immutable; amend it';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
