-- +goose Up
-- A case's rent-debt payment plan (one per case; a new plan replaces it)
-- and the payments toward it, recorded by hand or imported from the rental
-- company's payment list; an import key makes a re-import record nothing.
CREATE TABLE payment_plans (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id           INTEGER NOT NULL UNIQUE REFERENCES cases(id) ON DELETE CASCADE,
    total_cents       INTEGER NOT NULL,
    instalment_cents  INTEGER NOT NULL,
    due_day           INTEGER NOT NULL,
    start_date        TEXT NOT NULL,
    reference         TEXT NOT NULL DEFAULT '',
    created_by        INTEGER REFERENCES users(id),
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX payment_plans_reference_idx ON payment_plans (reference);

CREATE TABLE plan_payments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id       INTEGER NOT NULL REFERENCES payment_plans(id) ON DELETE CASCADE,
    paid_on       TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('hand', 'import')),
    import_key    TEXT,
    created_by    INTEGER REFERENCES users(id),
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (plan_id, import_key)
);
CREATE INDEX plan_payments_plan_idx ON plan_payments (plan_id, paid_on);

-- +goose Down
DROP TABLE plan_payments;
DROP TABLE payment_plans;
