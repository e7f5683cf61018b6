-- POS devices and their credentials (hashes only), and the counters that
-- ration PIN guesses per device and employee.

CREATE TABLE devices (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    location_id         TEXT NOT NULL REFERENCES locations (id),
    name                TEXT NOT NULL,
    pairing_hash        TEXT UNIQUE,
    pairing_expires_at  TIMESTAMPTZ,
    token_hash          TEXT UNIQUE,
    paired_at           TIMESTAMPTZ,
    revoked_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX devices_org ON devices (org_id, id);

CREATE TABLE pin_attempts (
    device_id     TEXT NOT NULL REFERENCES devices (id),
    employee_id   TEXT NOT NULL,
    failures      BIGINT NOT NULL,
    first_failure TIMESTAMPTZ,
    last_failure  TIMESTAMPTZ,
    PRIMARY KEY (device_id, employee_id)
);
CREATE INDEX pin_attempts_employee ON pin_attempts (employee_id);
