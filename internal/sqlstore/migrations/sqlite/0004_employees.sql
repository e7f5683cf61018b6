-- Employees, where they work and in what role, and their PINs, stored only
-- as keyed hashes (HMAC with a secret kept outside the database), unique
-- per location.

CREATE TABLE employees (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    name          TEXT NOT NULL,
    job_title     TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    wage_amount   INTEGER,
    wage_currency TEXT,
    roles         TEXT NOT NULL,
    has_pin       BOOLEAN NOT NULL DEFAULT FALSE,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    version       INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX employees_org ON employees (org_id, id);

CREATE TABLE employee_locations (
    employee_id TEXT NOT NULL REFERENCES employees (id),
    location_id TEXT NOT NULL REFERENCES locations (id),
    role_id     TEXT NOT NULL,
    PRIMARY KEY (employee_id, location_id)
);
CREATE INDEX employee_locations_location ON employee_locations (location_id, role_id);

CREATE TABLE employee_pins (
    employee_id TEXT NOT NULL REFERENCES employees (id),
    location_id TEXT NOT NULL REFERENCES locations (id),
    hash        TEXT NOT NULL,
    PRIMARY KEY (employee_id, location_id),
    CONSTRAINT employee_pins_location_hash_unique UNIQUE (location_id, hash)
);
