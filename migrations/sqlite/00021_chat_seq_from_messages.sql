-- +goose Up
-- A conversation's last seq is the highest seq among its messages, and
-- chat_seqs goes, as on PostgreSQL (see postgres/00021, which says why).
DROP TRIGGER chat_seqs_rules;
DROP TRIGGER chat_seqs_new;
DROP TABLE chat_seqs;

-- +goose Down
CREATE TABLE chat_seqs (
    conversation_id  INTEGER PRIMARY KEY,
    last_seq         INTEGER NOT NULL,
    closed           BOOLEAN NOT NULL,
    advisor          INTEGER
);
INSERT INTO chat_seqs (conversation_id, last_seq, closed, advisor)
SELECT c.id, COALESCE((SELECT max(m.seq) FROM chat_messages m WHERE m.conversation_id = c.id), 0),
    c.status = 'closed', c.advisor_id
FROM chat_conversations c;

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
