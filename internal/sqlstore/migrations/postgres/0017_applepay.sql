-- Apple Pay, direct: an organization's own Apple Pay merchant identity
-- (wallet.ApplePay). Certificates are public and kept as PEM; their keys
-- are sealed (secret.Box) bound to the organization and their purpose.
CREATE TABLE applepay_merchants (
    org_id                TEXT PRIMARY KEY REFERENCES organizations (id),
    body                  TEXT NOT NULL, -- identifier, name, domains, certificate descriptions, version: what may be shown
    identity_cert         TEXT NOT NULL, -- PEM; '' when none
    sealed_identity_key   TEXT NOT NULL,
    identity_not_after    TIMESTAMPTZ,   -- NULL when none
    processing_cert       TEXT NOT NULL,
    sealed_processing_key TEXT NOT NULL,
    processing_not_after  TIMESTAMPTZ,
    version               BIGINT NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX applepay_merchants_identity_expiry ON applepay_merchants (identity_not_after);
CREATE INDEX applepay_merchants_processing_expiry ON applepay_merchants (processing_not_after);

-- Expiry warnings raised, one per certificate (by fingerprint) and
-- threshold: written with the applepay.certificate_expiring event, so the
-- hourly check raises each once however many nodes run it.
CREATE TABLE applepay_certificate_warnings (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    fingerprint TEXT NOT NULL,
    threshold   TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, fingerprint, threshold)
);
