-- +goose Up
-- Contact requests (yhteydenottopyyntö): anyone, logged in or not, asks the
-- housing advisors to contact a resident. A request is routed to the region
-- of the resident's postal code; the desk orders it by urgency, computed
-- from the eviction or court date (eviction_on, a local date at midnight
-- UTC). resident_id is set only when a logged-in resident asked about
-- themself. target_key is a hash of the postal code and the normalised
-- street address, for the per-address limit. Closed requests are deleted
-- after PORTAL_CONTACT_RETENTION, leaving one anonymised row in
-- contact_statistics.
CREATE TABLE contact_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    reference       TEXT NOT NULL UNIQUE,
    region_id       INTEGER NOT NULL REFERENCES regions(id),
    resident_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    sender_kind     TEXT NOT NULL
                    CHECK (sender_kind IN ('self', 'relative', 'neighbour', 'housing', 'professional', 'someone_else')),
    organisation    TEXT NOT NULL DEFAULT '',
    sender_name     TEXT NOT NULL DEFAULT '',
    sender_phone    TEXT NOT NULL DEFAULT '',
    sender_email    TEXT NOT NULL DEFAULT '',
    reach_time      TEXT NOT NULL DEFAULT '',
    concern         TEXT NOT NULL
                    CHECK (concern IN ('rent_debt', 'eviction_threat', 'upkeep', 'disturbance', 'not_coping', 'something_else')),
    description     TEXT NOT NULL,
    eviction_on     TIMESTAMP,
    resident_name   TEXT NOT NULL,
    street_address  TEXT NOT NULL,
    postal_code     TEXT NOT NULL,
    resident_phone  TEXT NOT NULL DEFAULT '',
    person_knows    TEXT NOT NULL DEFAULT '' CHECK (person_knows IN ('', 'yes', 'no', 'unsure')),
    lang            TEXT NOT NULL DEFAULT 'fi',
    target_key      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'closed')),
    assignee_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    outcome         TEXT NOT NULL DEFAULT ''
                    CHECK (outcome IN ('', 'reached', 'appointment_booked', 'case_opened', 'no_need', 'not_reached', 'forwarded')),
    urgent          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    closed_at       TIMESTAMP
);
CREATE INDEX contact_requests_desk_idx ON contact_requests (region_id, status, created_at);
CREATE INDEX contact_requests_target_idx ON contact_requests (target_key, created_at);
CREATE INDEX contact_requests_closed_idx ON contact_requests (status, closed_at);

-- The advisors' attempts to reach the resident: when, how and what came of it.
CREATE TABLE contact_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  INTEGER NOT NULL REFERENCES contact_requests(id) ON DELETE CASCADE,
    actor_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    at          TIMESTAMP NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('phone', 'email', 'visit', 'letter')),
    result      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX contact_attempts_request_idx ON contact_attempts (request_id, at);

-- What is left of a request after its retention: no names, addresses,
-- phone numbers or texts, and dates only to the day.
CREATE TABLE contact_statistics (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    region_id    INTEGER REFERENCES regions(id) ON DELETE SET NULL,
    sender_kind  TEXT NOT NULL,
    concern      TEXT NOT NULL,
    urgent       BOOLEAN NOT NULL,
    outcome      TEXT NOT NULL,
    created_on   TEXT NOT NULL,
    closed_on    TEXT NOT NULL
);

-- +goose Down
DROP TABLE contact_statistics;
DROP TABLE contact_attempts;
DROP TABLE contact_requests;
