-- Report ownership: a draft is edited and signed by its author, or by an
-- admin taking it over; the take-over is recorded on the report (who, when).
ALTER TABLE reports ADD COLUMN taken_over_by TEXT;
ALTER TABLE reports ADD COLUMN taken_over_at BIGINT;

-- The signed-row guard of 0003, now covering the two new columns.
DROP TRIGGER reports_signed_immutable;
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
    AND NEW.signed_at IS OLD.signed_at AND NEW.supersedes IS OLD.supersedes
    AND NEW.taken_over_by IS OLD.taken_over_by AND NEW.taken_over_at IS OLD.taken_over_at)
BEGIN SELECT RAISE(ABORT, 'a signed report is immutable; amend it'); END;
