-- Custom roles: named sets of permissions an organization defines beside
-- the built-in ones (which live in code).

CREATE TABLE roles (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    name       TEXT NOT NULL,
    grants     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT roles_org_name_unique UNIQUE (org_id, name)
);
