-- +goose Up
-- Client cases (asiakkuus): one per resident at a time, in a region, with a
-- responsible advisor and an optional pair-work colleague. Every change of a
-- field, every note and intervention is an event of the case's timeline.
CREATE TABLE cases (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id     INTEGER NOT NULL REFERENCES users(id),
    region_id       INTEGER REFERENCES regions(id),
    advisor_id      INTEGER REFERENCES users(id),
    colleague_id    INTEGER REFERENCES users(id),
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'follow_up', 'closed')),
    reason          TEXT NOT NULL,
    household       TEXT NOT NULL DEFAULT '',
    children        INTEGER NOT NULL DEFAULT 0,
    referrer        TEXT NOT NULL DEFAULT '',
    debt_cents      INTEGER NOT NULL DEFAULT 0,
    in_court        BOOLEAN NOT NULL DEFAULT FALSE,
    court_date      TEXT NOT NULL DEFAULT '',
    eviction_date   TEXT NOT NULL DEFAULT '',
    outcome         TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    closed_at       TIMESTAMP
);
CREATE INDEX cases_region_idx ON cases (region_id, status, updated_at);
CREATE INDEX cases_resident_idx ON cases (resident_id);
CREATE INDEX cases_advisor_idx ON cases (advisor_id, status);

-- The timeline: notes, changes of fields (what, from, to), interventions.
CREATE TABLE case_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    field       TEXT NOT NULL DEFAULT '',
    old_value   TEXT NOT NULL DEFAULT '',
    new_value   TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    on_date     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX case_events_case_idx ON case_events (case_id, id);

-- +goose Down
DROP TABLE case_events;
DROP TABLE cases;
