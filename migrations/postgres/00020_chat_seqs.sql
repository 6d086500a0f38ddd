-- +goose Up
-- A conversation's message counter moves out of its wide row into a narrow
-- table of its own. Numbering a message updates the counter, and an UPDATE
-- of chat_conversations evaluated its three CHECKs (parsed back from text
-- for every statement) and opened its five indexes for every message;
-- chat_seqs has one index and none (docs/BENCHMARKS.md, issue 14).
--
-- chat_seqs is the only place of the last seq. The two facts that decide
-- who may write (closed, and the advisor the conversation is assigned to)
-- are copies, kept by the triggers below in the same transaction that
-- changes the conversation. So a statement that locks a counter row sees
-- the rules as of that row, and a close, which changes the copy under the
-- same row lock, and a message, which numbers under it, are ordered: no
-- message is stored after its conversation's closing one.
--
-- No foreign key: only the trigger inserts rows, with the id of the
-- conversation it was fired for, and conversations are never deleted (see
-- 00019). The key's check would run for nothing on every counter update.
CREATE TABLE chat_seqs (
    conversation_id  BIGINT PRIMARY KEY,
    last_seq         BIGINT NOT NULL,
    closed           BOOLEAN NOT NULL,
    advisor          BIGINT
);
INSERT INTO chat_seqs (conversation_id, last_seq, closed, advisor)
SELECT id, last_seq, status = 'closed', advisor_id FROM chat_conversations;
ALTER TABLE chat_conversations DROP COLUMN last_seq;

-- +goose StatementBegin
CREATE FUNCTION chat_seqs_follow() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO chat_seqs (conversation_id, last_seq, closed, advisor)
        VALUES (NEW.id, 0, NEW.status = 'closed', NEW.advisor_id);
    ELSE
        UPDATE chat_seqs SET closed = NEW.status = 'closed', advisor = NEW.advisor_id
        WHERE conversation_id = NEW.id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER chat_seqs_new AFTER INSERT ON chat_conversations
    FOR EACH ROW EXECUTE FUNCTION chat_seqs_follow();
CREATE TRIGGER chat_seqs_rules AFTER UPDATE OF status, advisor_id ON chat_conversations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.advisor_id IS DISTINCT FROM NEW.advisor_id)
    EXECUTE FUNCTION chat_seqs_follow();

-- +goose Down
DROP TRIGGER chat_seqs_rules ON chat_conversations;
DROP TRIGGER chat_seqs_new ON chat_conversations;
DROP FUNCTION chat_seqs_follow();
ALTER TABLE chat_conversations ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE chat_conversations c SET last_seq = s.last_seq FROM chat_seqs s WHERE s.conversation_id = c.id;
DROP TABLE chat_seqs;
