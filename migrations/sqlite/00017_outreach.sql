-- +goose Up
-- The landlord's early warning: an admin imports the rental company's
-- arrears list, and the rows at or above the threshold become outreach
-- tasks (ota yhteyttä) for the advisors of the tenant's region (NULL: no
-- region has the postal code; admins see those). A tenant reference has at
-- most one open task; a later list updates it. Each imported file is kept
-- by its SHA-256 with what the import did, so the same file twice creates
-- nothing and shows the earlier report. A done task's name, address and
-- note are emptied 12 months after it was done (redacted_at).
CREATE TABLE outreach_imports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256           TEXT NOT NULL,
    actor_id         INTEGER REFERENCES users(id),
    rows_count       INTEGER NOT NULL DEFAULT 0,
    created_count    INTEGER NOT NULL DEFAULT 0,
    updated_count    INTEGER NOT NULL DEFAULT 0,
    matched_count    INTEGER NOT NULL DEFAULT 0,
    below_count      INTEGER NOT NULL DEFAULT 0,
    no_region_count  INTEGER NOT NULL DEFAULT 0,
    min_cents        INTEGER NOT NULL,
    min_months       INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX outreach_imports_sha256_idx ON outreach_imports (sha256);

CREATE TABLE outreach_tasks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_ref      TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    postal_code     TEXT NOT NULL,
    region_id       INTEGER REFERENCES regions(id),
    arrears_cents   INTEGER NOT NULL,
    months_behind   INTEGER NOT NULL,
    case_id         INTEGER REFERENCES cases(id),
    import_id       INTEGER NOT NULL REFERENCES outreach_imports(id),
    last_import_id  INTEGER NOT NULL REFERENCES outreach_imports(id),
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    outcome         TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'reached_case_opened', 'reached_no_need', 'not_reached', 'moved_away')),
    note            TEXT NOT NULL DEFAULT '',
    done_by         INTEGER REFERENCES users(id),
    done_at         TIMESTAMP,
    redacted_at     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX outreach_tasks_open_ref_idx ON outreach_tasks (tenant_ref) WHERE status = 'open';
CREATE INDEX outreach_tasks_list_idx ON outreach_tasks (status, region_id, arrears_cents);
CREATE INDEX outreach_tasks_ref_idx ON outreach_tasks (tenant_ref, id);
CREATE INDEX outreach_tasks_done_idx ON outreach_tasks (status, done_at);

-- +goose Down
DROP TABLE outreach_tasks;
DROP TABLE outreach_imports;
