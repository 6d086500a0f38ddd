-- +goose Up
-- A chat message is the hottest insert of the service (every message a
-- person sends, one transaction each while the chat is not busy). Its two
-- foreign keys cost PostgreSQL 10-15 % of its CPU per message and a fifth
-- of its WAL (docs/BENCHMARKS.md, "The write path, issue 14"): each insert
-- ran two RI queries, and the one on users took a KEY SHARE lock on the
-- sender's row, which is written to the row and to the WAL, and becomes a
-- multixact when the same advisor writes in two conversations at once.
--
-- Both checks are made by the statement that stores a message
-- (chat/store_pg.go, and appendTx on SQLite, which keeps its keys):
-- conversation_id is the conversation whose row the same statement has
-- just updated and locked (no row, no message), and sender_id is the
-- logged-in person who sent it. Conversations and users are never deleted
-- (erasure empties a case and points it at an anonymous user; it deletes
-- no user). The CHECKs on kind and sender_role stay: they cost 4 %.
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_conversation_id_fkey;
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_sender_id_fkey;

-- +goose Down
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_conversation_id_fkey
    FOREIGN KEY (conversation_id) REFERENCES chat_conversations(id);
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_sender_id_fkey
    FOREIGN KEY (sender_id) REFERENCES users(id);
