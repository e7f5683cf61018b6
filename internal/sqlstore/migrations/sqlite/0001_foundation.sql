-- Organizations, locations, users, sessions, the event outbox and
-- idempotency keys: the foundation every later table hangs from.

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    country    TEXT NOT NULL,
    currency   TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    event_seq  INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE locations (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    name                TEXT NOT NULL,
    address             TEXT NOT NULL,
    country             TEXT NOT NULL,
    timezone            TEXT NOT NULL,
    currency            TEXT NOT NULL,
    vat_number          TEXT NOT NULL DEFAULT '',
    business_day_cutoff TEXT NOT NULL,
    version             INTEGER NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX locations_org ON locations (org_id, id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    CONSTRAINT users_email_unique UNIQUE (email)
);
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);

CREATE TABLE events (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    seq         INTEGER NOT NULL,
    location_id TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, seq)
);

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    done         BOOLEAN NOT NULL DEFAULT FALSE,
    committed    BOOLEAN NOT NULL DEFAULT FALSE,
    locked_until TIMESTAMP NOT NULL,
    status       INTEGER,
    header       TEXT,
    body         BLOB,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
