-- The menu, first part: tax categories and (nested) categories.

CREATE TABLE tax_categories (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    name          TEXT NOT NULL,
    rate_dine_in  BIGINT NOT NULL,
    rate_takeaway BIGINT NOT NULL,
    rate_delivery BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT tax_categories_org_name_unique UNIQUE (org_id, name)
);

CREATE TABLE categories (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    name       TEXT NOT NULL,
    parent_id  TEXT REFERENCES categories (id),
    position   BIGINT NOT NULL,
    color      TEXT NOT NULL DEFAULT '',
    version    BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX categories_org ON categories (org_id, position);
CREATE INDEX categories_parent ON categories (parent_id);
