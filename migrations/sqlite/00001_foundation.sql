-- +goose Up
CREATE TABLE regions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE,
    name_fi     TEXT NOT NULL,
    name_sv     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    phone       TEXT NOT NULL DEFAULT '',
    sort_order  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE service_points (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    region_id       INTEGER NOT NULL REFERENCES regions(id),
    name            TEXT NOT NULL,
    street_address  TEXT NOT NULL DEFAULT '',
    postal_code     TEXT NOT NULL DEFAULT '',
    city            TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX service_points_region_idx ON service_points (region_id);

CREATE TABLE postal_code_regions (
    postal_code  TEXT PRIMARY KEY,
    region_id    INTEGER NOT NULL REFERENCES regions(id)
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    issuer          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('resident', 'advisor', 'admin')),
    name            TEXT NOT NULL DEFAULT '',
    given_name      TEXT NOT NULL DEFAULT '',
    family_name     TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    postal_code     TEXT NOT NULL DEFAULT '',
    region_id       INTEGER REFERENCES regions(id),
    title           TEXT NOT NULL DEFAULT '',
    preferred_lang  TEXT NOT NULL DEFAULT 'fi',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    last_login_at   TIMESTAMP,
    UNIQUE (issuer, subject)
);
CREATE INDEX users_role_region_idx ON users (role, region_id);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    id_token      TEXT NOT NULL DEFAULT '',
    provider      TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE login_attempts (
    state_hash     TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    code_verifier  TEXT NOT NULL,
    return_to      TEXT NOT NULL DEFAULT '/',
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL
);

CREATE TABLE access_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    at               TIMESTAMP NOT NULL,
    actor_id         INTEGER NOT NULL REFERENCES users(id),
    actor_role       TEXT NOT NULL,
    resident_id      INTEGER REFERENCES users(id),
    action           TEXT NOT NULL,
    resource         TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT '',
    request_id       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX access_log_at_idx ON access_log (at);
CREATE INDEX access_log_actor_idx ON access_log (actor_id, at);
CREATE INDEX access_log_resident_idx ON access_log (resident_id, at);

-- +goose StatementBegin
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE access_log;
DROP TABLE login_attempts;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE postal_code_regions;
DROP TABLE service_points;
DROP TABLE regions;
