-- The audit log: append-only, hash-chained per organization. The head of
-- each chain is kept on the organization so that cutting entries from the
-- end shows too.

ALTER TABLE organizations ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN audit_head TEXT NOT NULL DEFAULT '';

CREATE TABLE audit_events (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    seq         INTEGER NOT NULL,
    location_id TEXT NOT NULL DEFAULT '',
    actor_id    TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    subject_id  TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_events_action ON audit_events (org_id, action, seq);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, seq);
CREATE INDEX audit_events_subject ON audit_events (org_id, subject_id, seq);
