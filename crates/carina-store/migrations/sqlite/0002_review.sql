-- The AI-suggestion loop: the model registry, the job queue, the models' raw
-- outputs, and per-user preferences. Times are Unix milliseconds; JSON is TEXT.
CREATE TABLE models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    arch TEXT NOT NULL,
    num_classes BIGINT NOT NULL,
    class_names_json TEXT NOT NULL,
    input_size BIGINT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    model_json TEXT NOT NULL,
    card TEXT,
    metrics_json TEXT,
    weights_key TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('bundled', 'upload', 'workbench')),
    deployed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (name, version)
);
-- At most one deployed model (deploying clears the old one in the same transaction).
CREATE UNIQUE INDEX models_one_deployed ON models (deployed) WHERE deployed;

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('predict', 'train')),
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
CREATE INDEX jobs_claim ON jobs (status, run_at);
CREATE INDEX jobs_image ON jobs (image_id, id);

-- A model's raw output for one image, exactly as it came (every box with its score).
CREATE TABLE predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id BIGINT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    model_id BIGINT NOT NULL REFERENCES models(id),
    job_id BIGINT,
    detections_json TEXT NOT NULL,
    elapsed_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (image_id, model_id)
);

ALTER TABLE boxes ADD COLUMN prediction_id BIGINT REFERENCES predictions(id);
CREATE INDEX boxes_prediction ON boxes (prediction_id);

CREATE TABLE user_preferences (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    proposal_threshold DOUBLE PRECISION NOT NULL
);
