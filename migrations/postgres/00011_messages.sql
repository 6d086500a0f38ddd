-- +goose Up
-- Secure messages: a thread between one resident and the advisors of a
-- region (or the one advisor assigned to it). A message is read when the
-- other side opens the thread; a staff message still unread after
-- PORTAL_MESSAGES_REMINDER_AFTER gets one reminder mail.
CREATE TABLE message_threads (
    id           BIGSERIAL PRIMARY KEY,
    resident_id  BIGINT NOT NULL REFERENCES users(id),
    region_id    BIGINT REFERENCES regions(id),
    assignee_id  BIGINT REFERENCES users(id),
    subject      TEXT NOT NULL,
    origin       TEXT NOT NULL DEFAULT 'resident' CHECK (origin IN ('resident', 'advisor', 'chat')),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX message_threads_resident_idx ON message_threads (resident_id, updated_at);
CREATE INDEX message_threads_region_idx ON message_threads (region_id, updated_at);

CREATE TABLE messages (
    id           BIGSERIAL PRIMARY KEY,
    thread_id    BIGINT NOT NULL REFERENCES message_threads(id) ON DELETE CASCADE,
    author_id    BIGINT NOT NULL REFERENCES users(id),
    from_staff   BOOLEAN NOT NULL,
    as_region    BOOLEAN NOT NULL DEFAULT FALSE,
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    read_at      TIMESTAMPTZ,
    reminded_at  TIMESTAMPTZ
);
CREATE INDEX messages_thread_idx ON messages (thread_id, id);
CREATE INDEX messages_unread_idx ON messages (from_staff, read_at, thread_id);

-- +goose Down
DROP TABLE messages;
DROP TABLE message_threads;
