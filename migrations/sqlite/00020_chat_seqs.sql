-- +goose Up
-- A conversation's message counter moves out of its row into a table of
-- its own, as on PostgreSQL (see postgres/00020, which says why). The
-- schema is the same on both, so that the chat has one place of the last
-- seq whatever the database; the triggers keep the copies of the rules.
CREATE TABLE chat_seqs (
    conversation_id  INTEGER PRIMARY KEY,
    last_seq         INTEGER NOT NULL,
    closed           BOOLEAN NOT NULL,
    advisor          INTEGER
);
INSERT INTO chat_seqs (conversation_id, last_seq, closed, advisor)
SELECT id, last_seq, status = 'closed', advisor_id FROM chat_conversations;
ALTER TABLE chat_conversations DROP COLUMN last_seq;

-- +goose StatementBegin
CREATE TRIGGER chat_seqs_new AFTER INSERT ON chat_conversations
BEGIN
    INSERT INTO chat_seqs (conversation_id, last_seq, closed, advisor)
    VALUES (NEW.id, 0, NEW.status = 'closed', NEW.advisor_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chat_seqs_rules AFTER UPDATE OF status, advisor_id ON chat_conversations
    WHEN OLD.status IS NOT NEW.status OR OLD.advisor_id IS NOT NEW.advisor_id
BEGIN
    UPDATE chat_seqs SET closed = NEW.status = 'closed', advisor = NEW.advisor_id
    WHERE conversation_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER chat_seqs_rules;
DROP TRIGGER chat_seqs_new;
ALTER TABLE chat_conversations ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
UPDATE chat_conversations SET last_seq = (SELECT s.last_seq FROM chat_seqs s WHERE s.conversation_id = chat_conversations.id);
DROP TABLE chat_seqs;
