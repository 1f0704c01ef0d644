-- Carina's schema for SQLite. Times are Unix milliseconds (BIGINT); usernames
-- are stored as text because they never change and users are never deleted.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'radiologist', 'viewer')),
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions(expires_at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    throttle_key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures(throttle_key, at);

CREATE TABLE labels (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    color TEXT NOT NULL,
    retired BOOLEAN NOT NULL DEFAULT FALSE
);
-- Names are unique regardless of case ("Nodule/Mass" and "nodule/mass" are one label).
CREATE UNIQUE INDEX labels_name_lower ON labels (LOWER(name));
INSERT INTO labels (id, name, color) VALUES
    (0, 'Atelectasis', '#e6194b'),
    (1, 'Cardiomegaly', '#3cb44b'),
    (2, 'Consolidation', '#ffe119'),
    (3, 'Infiltration', '#4363d8'),
    (4, 'Nodule/Mass', '#f58231'),
    (5, 'Pleural Thickening', '#911eb4'),
    (6, 'Pneumothorax', '#42d4f4'),
    (7, 'Pulmonary Fibrosis', '#f032e6'),
    (8, 'Pleural Effusion', '#bfef45');

-- Instance-wide secrets and settings shared by every server process.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    object_key TEXT NOT NULL,
    thumbnail_key TEXT NOT NULL,
    format TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    bits_stored BIGINT NOT NULL,
    photometric TEXT NOT NULL,
    window_center DOUBLE PRECISION,
    window_width DOUBLE PRECISION,
    pixel_spacing_row DOUBLE PRECISION,
    pixel_spacing_col DOUBLE PRECISION,
    modality TEXT,
    study_pseudonym TEXT,
    patient_pseudonym TEXT,
    original_filename TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_review', 'done')),
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX images_created_at ON images(created_at);

CREATE TABLE annotation_states (
    image_id BIGINT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    no_finding BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE boxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id BIGINT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    class_id BIGINT NOT NULL REFERENCES labels(id),
    x_min DOUBLE PRECISION NOT NULL,
    y_min DOUBLE PRECISION NOT NULL,
    x_max DOUBLE PRECISION NOT NULL,
    y_max DOUBLE PRECISION NOT NULL,
    source_kind TEXT NOT NULL CHECK (source_kind IN ('radiologist', 'model')),
    source_user TEXT,
    model_name TEXT,
    model_version TEXT,
    score DOUBLE PRECISION,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'accepted', 'rejected', 'edited', 'manual')),
    original_class_id BIGINT,
    original_x_min DOUBLE PRECISION,
    original_y_min DOUBLE PRECISION,
    original_x_max DOUBLE PRECISION,
    original_y_max DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX boxes_image_id ON boxes(image_id);

-- Append-only: no foreign key, so the record outlives a deleted image, and
-- triggers refuse UPDATE and DELETE.
CREATE TABLE annotation_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    version BIGINT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
);
CREATE INDEX annotation_history_image ON annotation_history(image_id, id);
CREATE TRIGGER annotation_history_no_update BEFORE UPDATE ON annotation_history
BEGIN SELECT RAISE(ABORT, 'annotation_history is append-only'); END;
CREATE TRIGGER annotation_history_no_delete BEFORE DELETE ON annotation_history
BEGIN SELECT RAISE(ABORT, 'annotation_history is append-only'); END;
