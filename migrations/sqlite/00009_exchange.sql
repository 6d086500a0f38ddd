-- +goose Up
-- Housing-exchange applications (asunnonvaihtohakemus). The resident's
-- answers are one JSON document (answers), versioned by the code that reads
-- it; what the desk filters and counts on is in columns: status, region,
-- reasons (",crisis,finances," so that a LIKE finds one). A draft is the
-- resident's until sent; unsent drafts untouched for PORTAL_EXCHANGE_DRAFT_TTL
-- are deleted with their attachments.
CREATE TABLE exchange_applications (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id      INTEGER NOT NULL REFERENCES users(id),
    region_id        INTEGER REFERENCES regions(id),
    status           TEXT NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'sent', 'in_assessment', 'forwarded', 'offer_made', 'closed')),
    step             TEXT NOT NULL DEFAULT 'home',
    answers          TEXT NOT NULL DEFAULT '{}',
    reasons          TEXT NOT NULL DEFAULT '',
    lang             TEXT NOT NULL DEFAULT 'fi',
    advisor_id       INTEGER REFERENCES users(id),
    special_support  BOOLEAN,
    justification    TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);
CREATE INDEX exchange_applications_resident_idx ON exchange_applications (resident_id);
CREATE INDEX exchange_applications_desk_idx ON exchange_applications (region_id, status, sent_at);
CREATE INDEX exchange_applications_drafts_idx ON exchange_applications (status, updated_at);

-- Every change of status, with who made it and the message to the resident.
CREATE TABLE exchange_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id  INTEGER NOT NULL REFERENCES exchange_applications(id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    actor_id        INTEGER REFERENCES users(id),
    message         TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX exchange_events_application_idx ON exchange_events (application_id, id);

-- The forwarding package on its way to the housing office's webhook: a
-- durable queue, retried with back-off until a 2xx, never sent after one.
CREATE TABLE exchange_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id   INTEGER NOT NULL REFERENCES exchange_applications(id) ON DELETE CASCADE,
    payload          TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX exchange_deliveries_due_idx ON exchange_deliveries (delivered_at, next_attempt_at);

-- +goose Down
DROP TABLE exchange_deliveries;
DROP TABLE exchange_events;
DROP TABLE exchange_applications;
