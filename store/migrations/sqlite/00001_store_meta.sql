-- +goose Up
-- store_meta holds the store's own settings, one value a key.
CREATE TABLE store_meta (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
) STRICT;

-- +goose Down
DROP TABLE store_meta;
