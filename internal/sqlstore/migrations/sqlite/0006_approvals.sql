-- Managers' one-time approvals of privileged actions, by token hash.

CREATE TABLE approvals (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    device_id    TEXT NOT NULL REFERENCES devices (id),
    location_id  TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    approver_id  TEXT NOT NULL,
    permission   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    expires_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP,
    created_at   TIMESTAMP NOT NULL
);
