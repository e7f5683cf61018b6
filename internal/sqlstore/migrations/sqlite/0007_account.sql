-- Password resets (token hashes only) and the mail outbox.

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE mail_outbox (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    to_addr     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    next_try_at TIMESTAMP NOT NULL,
    sent_at     TIMESTAMP,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX mail_outbox_pending ON mail_outbox (next_try_at) WHERE sent_at IS NULL;
