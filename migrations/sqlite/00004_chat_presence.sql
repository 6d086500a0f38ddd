-- +goose Up
-- Advisor presence: when an instance last saw the advisor at the chat desk
-- (an open staff socket, the desk page, a status change). An advisor
-- counts as available only while this is recent, so that one who closed
-- the browser, lost their session or sat on a crashed instance stops
-- being offered chats. NULL: never seen since this column was added.
ALTER TABLE chat_advisors ADD COLUMN seen_at TIMESTAMP;

-- +goose Down
ALTER TABLE chat_advisors DROP COLUMN seen_at;
