-- Per-location availability of items: 86s (with an optional time they come
-- back), stock counts and price overrides.

CREATE TABLE item_availability (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    location_id TEXT NOT NULL REFERENCES locations (id),
    item_id     TEXT NOT NULL REFERENCES items (id),
    body        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (location_id, item_id)
);
