-- +goose Up
-- Client records (asiakastiedot) of people who have not logged in: an
-- advisor records someone a neighbour or the landlord called about, opens
-- their case, books them an appointment and writes to them. Such a record
-- is a resident user whose issuer is 'client-record' and subject a random
-- id; when the person later logs in with strong identification, the login
-- is linked to the record by the personal identity code. One identity code
-- names at most one user.
ALTER TABLE users ADD COLUMN identity_code TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN street_address TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_identity_code_idx ON users (identity_code) WHERE identity_code <> '';

-- +goose Down
DROP INDEX users_identity_code_idx;
ALTER TABLE users DROP COLUMN street_address;
ALTER TABLE users DROP COLUMN identity_code;
