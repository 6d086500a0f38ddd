-- +goose Up
-- Back-channel logout: the provider's session id (the ID token's sid) is
-- kept with the session, so that a logout token naming it ends the right
-- sessions; the ID token itself is no longer kept (it was only for the
-- end-session hint, and it carries a name and an e-mail address). Logout
-- tokens already used are remembered until they would have expired, so
-- that a replay is refused.
ALTER TABLE sessions ADD COLUMN provider_sid TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_provider_sid_idx ON sessions (provider, provider_sid);
ALTER TABLE sessions DROP COLUMN id_token;

CREATE TABLE logout_tokens (
    jti_hash    TEXT PRIMARY KEY,
    expires_at  TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE logout_tokens;
ALTER TABLE sessions ADD COLUMN id_token TEXT NOT NULL DEFAULT '';
DROP INDEX sessions_provider_sid_idx;
ALTER TABLE sessions DROP COLUMN provider_sid;
