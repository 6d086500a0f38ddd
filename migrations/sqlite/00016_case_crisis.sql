-- +goose Up
-- The crisis-accommodation path (kriisimajoitus) of a case: the checks the
-- responsible worker makes when the resident has lost their home (each
-- answered yes or no, by whom and on which day; answering again replaces
-- the answer, the timeline keeps every one), and the stages the resident
-- goes through: crisis accommodation, an interim rental flat, a permanent
-- rental flat. A stage ends when the next starts, or on its own end date.
-- Dates are YYYY-MM-DD in the portal's time zone; "" when not set.
CREATE TABLE case_crisis_checks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    item        TEXT NOT NULL,
    answer      BOOLEAN NOT NULL,
    checked_on  TEXT NOT NULL,
    checked_by  INTEGER REFERENCES users(id),
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (case_id, item)
);

CREATE TABLE case_crisis_stages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    stage       TEXT NOT NULL CHECK (stage IN ('crisis', 'interim', 'permanent')),
    start_date  TEXT NOT NULL,
    end_date    TEXT NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES users(id),
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (case_id, stage)
);
CREATE INDEX case_crisis_stages_start_idx ON case_crisis_stages (start_date);

-- The network partners involved in a case (property manager, social work,
-- Kela…), each with an optional organisation or contact and a date.
CREATE TABLE case_partners (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    contact     TEXT NOT NULL DEFAULT '',
    on_date     TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX case_partners_case_idx ON case_partners (case_id, id);

-- +goose Down
DROP TABLE case_partners;
DROP TABLE case_crisis_stages;
DROP TABLE case_crisis_checks;
