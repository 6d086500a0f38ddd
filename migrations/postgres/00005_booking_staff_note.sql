-- +goose Up
-- The advisor's note on an appointment booked for a resident: staff only,
-- never shown to the resident (it may say who reported them). The
-- resident's own message stays in message; the advisor's message to the
-- resident in staff_message.
ALTER TABLE bookings ADD COLUMN staff_note TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE bookings DROP COLUMN staff_note;
