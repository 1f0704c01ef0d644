-- The send job: C-STORE of an image and/or its SR to a DICOM peer. SQLite
-- cannot change a CHECK constraint, so the table is rebuilt (nothing
-- references jobs by foreign key; ids and the AUTOINCREMENT sequence carry over).
CREATE TABLE jobs_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('predict', 'train', 'send')),
    payload_json TEXT NOT NULL,
    image_id BIGINT REFERENCES images(id) ON DELETE CASCADE,
    model_id BIGINT REFERENCES models(id),
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    result_json TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
INSERT INTO jobs_new (id, kind, payload_json, image_id, model_id, status, attempts, max_attempts,
    run_at, locked_by, locked_until, last_error, result_json, created_at, created_by, started_at,
    finished_at)
SELECT id, kind, payload_json, image_id, model_id, status, attempts, max_attempts,
    run_at, locked_by, locked_until, last_error, result_json, created_at, created_by, started_at,
    finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_claim ON jobs (status, run_at);
CREATE INDEX jobs_image ON jobs (image_id, id);
