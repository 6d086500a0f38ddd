-- +goose Up
-- A case's rent-debt payment plan (one per case; a new plan replaces it)
-- and the payments toward it, recorded by hand or imported from the rental
-- company's payment list; an import key makes a re-import record nothing.
CREATE TABLE payment_plans (
    id                BIGSERIAL PRIMARY KEY,
    case_id           BIGINT NOT NULL UNIQUE REFERENCES cases(id) ON DELETE CASCADE,
    total_cents       BIGINT NOT NULL,
    instalment_cents  BIGINT NOT NULL,
    due_day           INTEGER NOT NULL,
    start_date        TEXT NOT NULL,
    reference         TEXT NOT NULL DEFAULT '',
    created_by        BIGINT REFERENCES users(id),
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX payment_plans_reference_idx ON payment_plans (reference);

CREATE TABLE plan_payments (
    id            BIGSERIAL PRIMARY KEY,
    plan_id       BIGINT NOT NULL REFERENCES payment_plans(id) ON DELETE CASCADE,
    paid_on       TEXT NOT NULL,
    amount_cents  BIGINT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('hand', 'import')),
    import_key    TEXT,
    created_by    BIGINT REFERENCES users(id),
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (plan_id, import_key)
);
CREATE INDEX plan_payments_plan_idx ON plan_payments (plan_id, paid_on);

-- +goose Down
DROP TABLE plan_payments;
DROP TABLE payment_plans;
