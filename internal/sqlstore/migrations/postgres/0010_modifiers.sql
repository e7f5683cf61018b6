-- Modifier groups (their choices travel as JSON) and which items ask them.

CREATE TABLE modifier_groups (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX modifier_groups_org ON modifier_groups (org_id, name);

CREATE TABLE item_modifier_groups (
    item_id  TEXT NOT NULL REFERENCES items (id),
    group_id TEXT NOT NULL REFERENCES modifier_groups (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (item_id, group_id)
);
CREATE INDEX item_modifier_groups_group ON item_modifier_groups (group_id);
