-- +goose Up
-- Service points named in Swedish and English where the name differs (empty:
-- the Finnish name), and each region's phone service hours in the three
-- languages, shown beside its number (chat hours are not phone hours).
ALTER TABLE service_points ADD COLUMN name_sv TEXT NOT NULL DEFAULT '';
ALTER TABLE service_points ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
ALTER TABLE regions ADD COLUMN phone_hours_fi TEXT NOT NULL DEFAULT '';
ALTER TABLE regions ADD COLUMN phone_hours_sv TEXT NOT NULL DEFAULT '';
ALTER TABLE regions ADD COLUMN phone_hours_en TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE regions DROP COLUMN phone_hours_en;
ALTER TABLE regions DROP COLUMN phone_hours_sv;
ALTER TABLE regions DROP COLUMN phone_hours_fi;
ALTER TABLE service_points DROP COLUMN name_en;
ALTER TABLE service_points DROP COLUMN name_sv;
