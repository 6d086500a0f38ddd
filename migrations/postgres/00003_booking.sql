-- +goose Up

-- Weekly availability: an advisor meets residents on this weekday between
-- these local (Europe/Helsinki) wall-clock minutes, in slots of this length.
CREATE TABLE booking_windows (
    id                BIGSERIAL PRIMARY KEY,
    advisor_id        BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    weekday           INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- ISO 8601: 1 = Monday
    start_minute      INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute        INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    slot_minutes      INTEGER NOT NULL CHECK (slot_minutes BETWEEN 10 AND 240),
    meeting_types     TEXT NOT NULL,                                    -- comma-separated: office,home,phone,video
    service_point_id  BIGINT REFERENCES service_points(id),
    created_at        TIMESTAMPTZ NOT NULL,
    CHECK (start_minute < end_minute)
);
CREATE INDEX booking_windows_advisor_idx ON booking_windows (advisor_id, weekday);

-- Exceptions to the weekly windows: holidays, sick days and blocked time.
CREATE TABLE booking_exceptions (
    id          BIGSERIAL PRIMARY KEY,
    advisor_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('holiday', 'sick', 'block')),
    starts_at   TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_by  BIGINT NOT NULL REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL,
    CHECK (starts_at < ends_at)
);
CREATE INDEX booking_exceptions_advisor_idx ON booking_exceptions (advisor_id, ends_at);

CREATE TABLE bookings (
    id                BIGSERIAL PRIMARY KEY,
    advisor_id        BIGINT NOT NULL REFERENCES users(id),
    resident_id       BIGINT NOT NULL REFERENCES users(id),
    region_id         BIGINT NOT NULL REFERENCES regions(id),
    service_point_id  BIGINT REFERENCES service_points(id),
    starts_at         TIMESTAMPTZ NOT NULL,
    ends_at           TIMESTAMPTZ NOT NULL,
    meeting_type      TEXT NOT NULL CHECK (meeting_type IN ('office', 'home', 'phone', 'video')),
    topic             TEXT NOT NULL CHECK (topic IN ('rent_debt', 'eviction', 'exchange', 'upkeep', 'moving', 'other')),
    message           TEXT NOT NULL DEFAULT '',
    contact_phone     TEXT NOT NULL DEFAULT '',
    visit_address     TEXT NOT NULL DEFAULT '',
    lang              TEXT NOT NULL DEFAULT 'fi',
    status            TEXT NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled', 'done', 'no_show')),
    sequence          INTEGER NOT NULL DEFAULT 0,
    staff_message     TEXT NOT NULL DEFAULT '',
    booked_by         BIGINT NOT NULL REFERENCES users(id),
    changed_by        BIGINT REFERENCES users(id),
    remind_at         TIMESTAMPTZ,
    reminded_at       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    cancelled_at      TIMESTAMPTZ,
    CHECK (starts_at < ends_at)
);
-- One slot, one booking: the database refuses a second live booking of an
-- advisor at the same start, however many requests race for it.
CREATE UNIQUE INDEX bookings_one_per_slot ON bookings (advisor_id, starts_at) WHERE status <> 'cancelled';
-- Covers the free-slot search (an index-only scan of advisors' live
-- bookings by time); the calendar and the overlap check use it too.
CREATE INDEX bookings_busy_idx ON bookings (advisor_id, starts_at, ends_at, status) WHERE status <> 'cancelled';
CREATE INDEX bookings_resident_idx ON bookings (resident_id, starts_at);
CREATE INDEX bookings_region_idx ON bookings (region_id, starts_at);
CREATE INDEX bookings_reminder_idx ON bookings (remind_at) WHERE status = 'booked' AND reminded_at IS NULL;

-- Outgoing mail, written in the same transaction as the change it tells
-- about and delivered by the sender with retries.
CREATE TABLE mail_outbox (
    id               BIGSERIAL PRIMARY KEY,
    dedupe_key       TEXT UNIQUE,
    recipient        TEXT NOT NULL,
    subject_key      TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at);

CREATE TABLE mail_attachments (
    id            BIGSERIAL PRIMARY KEY,
    mail_id       BIGINT NOT NULL REFERENCES mail_outbox(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    data          BYTEA NOT NULL
);
CREATE INDEX mail_attachments_mail_idx ON mail_attachments (mail_id);

-- +goose Down
DROP TABLE mail_attachments;
DROP TABLE mail_outbox;
DROP TABLE bookings;
DROP TABLE booking_exceptions;
DROP TABLE booking_windows;
