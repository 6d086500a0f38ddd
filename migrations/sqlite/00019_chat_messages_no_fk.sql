-- +goose Up
-- PostgreSQL drops chat_messages' foreign keys in this version (see
-- postgres/00019). SQLite keeps them: dropping one means rebuilding the
-- table, and with one writer at a time the cost that led to it on
-- PostgreSQL (a shared row lock per message on the sender) does not arise.
-- The version exists here so that both dialects keep the same numbers.
SELECT 1;

-- +goose Down
SELECT 1;
