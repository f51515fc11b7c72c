-- +goose Up
-- store_meta holds the store's own settings, one value a key.
CREATE TABLE store_meta (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE store_meta;
