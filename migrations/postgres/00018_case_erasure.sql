-- +goose Up
-- Erasure of a closed case's personal data once the retention period has
-- passed since closing (PORTAL_CASE_RETENTION). The case row stays for the
-- statistics (region, reason, household, children, referrer, debt, the
-- court flag, interventions, outcome, dates); notes, free text, payment
-- references and the court and eviction dates are emptied, and the case is
-- pointed at an empty anonymous user of its own (issuer 'erased'), since
-- resident_id is NOT NULL and SQLite cannot drop that without rebuilding
-- the table (which would cascade-delete the timeline). erased_at says when.
ALTER TABLE cases ADD COLUMN erased_at TIMESTAMPTZ;
CREATE INDEX cases_closed_idx ON cases (status, closed_at);

-- +goose Down
DROP INDEX cases_closed_idx;
ALTER TABLE cases DROP COLUMN erased_at;
