-- +goose Up
-- Follow-up (seuranta) of a case: a period of 6–24 months set when a plan
-- or an intervention starts, with an interim assessment due halfway.
-- Dates are YYYY-MM-DD in the portal's time zone; "" when not set.
ALTER TABLE cases ADD COLUMN follow_up_until TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN interim_due TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN interim_done TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE cases DROP COLUMN interim_done;
ALTER TABLE cases DROP COLUMN interim_due;
ALTER TABLE cases DROP COLUMN follow_up_until;
