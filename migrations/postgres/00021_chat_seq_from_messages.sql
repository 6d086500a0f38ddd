-- +goose Up
-- A conversation's last seq is the highest seq among its messages, read
-- from the primary key, and chat_seqs goes. Numbering a message no longer
-- updates a counter row: each chat lane remembers the last seq and the
-- rules of the conversations it stores, numbers a message after it, and
-- the primary key (conversation_id, seq) settles any race. A close, a
-- transfer or an accept stores its own message with the next seq in the
-- transaction that changes the rules, so a lane that remembered the rules
-- from before it collides with that message and reads them again. The
-- counter row's UPDATE was a quarter of PostgreSQL's CPU per message
-- (docs/BENCHMARKS.md, issue 14).
DROP TRIGGER chat_seqs_rules ON chat_conversations;
DROP TRIGGER chat_seqs_new ON chat_conversations;
DROP FUNCTION chat_seqs_follow();
DROP TABLE chat_seqs;

-- +goose Down
CREATE TABLE chat_seqs (
    conversation_id  BIGINT PRIMARY KEY,
    last_seq         BIGINT NOT NULL,
    closed           BOOLEAN NOT NULL,
    advisor          BIGINT
);
INSERT INTO chat_seqs (conversation_id, last_seq, closed, advisor)
SELECT c.id, COALESCE((SELECT max(m.seq) FROM chat_messages m WHERE m.conversation_id = c.id), 0),
    c.status = 'closed', c.advisor_id
FROM chat_conversations c;

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
