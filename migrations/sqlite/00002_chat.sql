-- +goose Up
-- Live chat: conversations with their per-conversation message sequence,
-- the messages themselves (the source of truth; pub/sub only wakes other
-- instances), staff-only notes, advisor availability, canned replies and
-- opening hours per region.
CREATE TABLE chat_conversations (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id             INTEGER REFERENCES users(id),
    guest_id                TEXT NOT NULL DEFAULT '',
    region_id               INTEGER REFERENCES regions(id),
    topic                   TEXT NOT NULL,
    lang                    TEXT NOT NULL CHECK (lang IN ('fi', 'sv', 'en')),
    status                  TEXT NOT NULL CHECK (status IN ('queued', 'active', 'closed')),
    advisor_id              INTEGER REFERENCES users(id),
    outcome                 TEXT NOT NULL DEFAULT '',
    last_seq                INTEGER NOT NULL DEFAULT 0,
    resident_delivered_seq  INTEGER NOT NULL DEFAULT 0,
    resident_read_seq       INTEGER NOT NULL DEFAULT 0,
    advisor_delivered_seq   INTEGER NOT NULL DEFAULT 0,
    advisor_read_seq        INTEGER NOT NULL DEFAULT 0,
    created_at              TIMESTAMP NOT NULL,
    queued_at               TIMESTAMP NOT NULL,
    accepted_at             TIMESTAMP,
    closed_at               TIMESTAMP,
    CHECK ((resident_id IS NULL) <> (guest_id = ''))
);
CREATE INDEX chat_conversations_queue_idx ON chat_conversations (status, queued_at);
CREATE INDEX chat_conversations_resident_idx ON chat_conversations (resident_id, created_at);
CREATE INDEX chat_conversations_guest_idx ON chat_conversations (guest_id) WHERE guest_id <> '';
CREATE INDEX chat_conversations_advisor_idx ON chat_conversations (advisor_id, status);

CREATE TABLE chat_messages (
    conversation_id  INTEGER NOT NULL REFERENCES chat_conversations(id),
    seq              INTEGER NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('text', 'system')),
    sender_role      TEXT NOT NULL CHECK (sender_role IN ('resident', 'advisor', 'system')),
    sender_id        INTEGER REFERENCES users(id),
    sender_name      TEXT NOT NULL DEFAULT '',
    client_id        TEXT NOT NULL DEFAULT '',
    event            TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX chat_messages_client_idx ON chat_messages (conversation_id, sender_role, client_id) WHERE client_id <> '';

CREATE TABLE chat_notes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  INTEGER NOT NULL REFERENCES chat_conversations(id),
    author_id        INTEGER NOT NULL REFERENCES users(id),
    body             TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX chat_notes_conversation_idx ON chat_notes (conversation_id, id);

CREATE TABLE chat_advisors (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    status      TEXT NOT NULL CHECK (status IN ('available', 'busy', 'away')),
    capacity    INTEGER CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 20),
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE chat_canned_replies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    lang        TEXT NOT NULL CHECK (lang IN ('fi', 'sv', 'en')),
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_by  INTEGER REFERENCES users(id),
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX chat_canned_replies_lang_idx ON chat_canned_replies (lang, title);

CREATE TABLE chat_hours (
    region_id  INTEGER NOT NULL REFERENCES regions(id),
    weekday    INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens      TEXT NOT NULL,
    closes     TEXT NOT NULL,
    PRIMARY KEY (region_id, weekday)
);

-- +goose Down
DROP TABLE chat_hours;
DROP TABLE chat_canned_replies;
DROP TABLE chat_advisors;
DROP TABLE chat_notes;
DROP TABLE chat_messages;
DROP TABLE chat_conversations;
