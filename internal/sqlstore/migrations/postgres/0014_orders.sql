-- Checks, their lines and the operations applied to them; tables; kitchen
-- stations and tickets. A line and a ticket are kept whole as JSON beside
-- the columns queries need: they are read and written as one value.

CREATE TABLE dining_tables (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    location_id TEXT NOT NULL REFERENCES locations (id),
    area        TEXT NOT NULL,
    name        TEXT NOT NULL,
    seats       INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    archived    BOOLEAN NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX dining_tables_name ON dining_tables (location_id, name) WHERE NOT archived;
CREATE INDEX dining_tables_location ON dining_tables (org_id, location_id);

-- The receipt number counter of a location's business day.
CREATE TABLE order_numbers (
    location_id   TEXT NOT NULL REFERENCES locations (id),
    business_date TEXT NOT NULL,
    last          INTEGER NOT NULL,
    PRIMARY KEY (location_id, business_date)
);

CREATE TABLE orders (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    location_id   TEXT NOT NULL REFERENCES locations (id),
    number        INTEGER NOT NULL,
    business_date TEXT NOT NULL,
    type          TEXT NOT NULL,
    table_id      TEXT REFERENCES dining_tables (id),
    status        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    total         BIGINT NOT NULL,
    body          TEXT NOT NULL, -- the check without its lines, as JSON
    version       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX orders_location ON orders (org_id, location_id, status, id);
CREATE INDEX orders_table ON orders (table_id, status);
CREATE INDEX orders_business_date ON orders (location_id, business_date);

CREATE TABLE order_lines (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    order_id      TEXT NOT NULL REFERENCES orders (id),
    item_id       TEXT NOT NULL,
    kitchen_state TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX order_lines_order ON order_lines (order_id, created_at, id);

-- Operations applied, by the client's ID: a retry finds its op here and
-- changes nothing.
CREATE TABLE order_ops (
    order_id   TEXT NOT NULL REFERENCES orders (id),
    op_id      TEXT NOT NULL,
    type       TEXT NOT NULL,
    line_id    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id, op_id)
);

CREATE TABLE kitchen_stations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    location_id TEXT NOT NULL REFERENCES locations (id),
    key         TEXT NOT NULL,
    body        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (location_id, key)
);

CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    location_id TEXT NOT NULL REFERENCES locations (id),
    order_id    TEXT NOT NULL REFERENCES orders (id),
    station     TEXT NOT NULL,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX tickets_location ON tickets (org_id, location_id, status, created_at);
CREATE INDEX tickets_order ON tickets (order_id);

-- A line reaches a station once: the key that makes sending idempotent.
CREATE TABLE ticket_lines (
    line_id   TEXT NOT NULL REFERENCES order_lines (id),
    station   TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    PRIMARY KEY (line_id, station)
);
CREATE INDEX ticket_lines_ticket ON ticket_lines (ticket_id);
