-- +goose Up
-- Files people send (attachments of housing-exchange applications, later
-- secure messages), owned by portal/files. The bytes are in the store (a
-- folder or an S3 bucket) under storage_key, a random name; a row exists
-- only for a file that passed every check, so an object without a row is a
-- leftover that the sweep removes. owner is what the file belongs to, as
-- the feature names it ("exchange/12"). The uploader is kept while the user
-- exists; an anonymous upload has none.
CREATE TABLE files (
    id            BIGSERIAL PRIMARY KEY,
    storage_key   TEXT NOT NULL UNIQUE,
    owner         TEXT NOT NULL,
    uploader_id   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    name          TEXT NOT NULL,
    size          BIGINT NOT NULL CHECK (size > 0),
    sha256        TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX files_owner_idx ON files (owner, id);

-- +goose Down
DROP TABLE files;
