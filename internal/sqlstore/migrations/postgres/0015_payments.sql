-- Cash drawers and their sessions; payments on checks. A payment and a
-- session are kept whole as JSON beside the columns that queries and
-- reports sum, so every figure of a drawer count or a day's takings is a
-- sum over these rows.

CREATE TABLE cash_drawers (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    location_id TEXT NOT NULL REFERENCES locations (id),
    name        TEXT NOT NULL,
    archived    BOOLEAN NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX cash_drawers_name ON cash_drawers (location_id, name) WHERE NOT archived;

CREATE TABLE drawer_sessions (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    location_id   TEXT NOT NULL REFERENCES locations (id),
    drawer_id     TEXT NOT NULL REFERENCES cash_drawers (id),
    status        TEXT NOT NULL,
    business_date TEXT NOT NULL,
    body          TEXT NOT NULL,
    version       BIGINT NOT NULL,
    opened_at     TIMESTAMPTZ NOT NULL,
    closed_at     TIMESTAMPTZ
);
-- One open session per drawer: two iPads opening it at once get one.
CREATE UNIQUE INDEX drawer_sessions_open ON drawer_sessions (drawer_id) WHERE status = 'open';
CREATE INDEX drawer_sessions_drawer ON drawer_sessions (drawer_id, opened_at);

-- Paid in, paid out, no-sale opens.
CREATE TABLE drawer_movements (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    session_id TEXT NOT NULL REFERENCES drawer_sessions (id),
    kind       TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX drawer_movements_session ON drawer_movements (session_id, created_at);

CREATE TABLE payments (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    location_id       TEXT NOT NULL REFERENCES locations (id),
    order_id          TEXT NOT NULL REFERENCES orders (id),
    business_date     TEXT NOT NULL,
    method            TEXT NOT NULL,
    status            TEXT NOT NULL,
    amount            BIGINT NOT NULL, -- toward the check
    tip               BIGINT NOT NULL,
    change_given      BIGINT NOT NULL, -- cash handed back
    refunded          BIGINT NOT NULL,
    drawer_session_id TEXT REFERENCES drawer_sessions (id),
    provider_ref      TEXT, -- the provider's payment ID, for its webhooks
    body              TEXT NOT NULL,
    version           BIGINT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_order ON payments (order_id, id);
CREATE INDEX payments_location ON payments (org_id, location_id, business_date, id);
CREATE INDEX payments_session ON payments (drawer_session_id);
CREATE INDEX payments_provider_ref ON payments (org_id, provider_ref);

-- Money given back, on the day it was given back.
CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    location_id       TEXT NOT NULL REFERENCES locations (id),
    payment_id        TEXT NOT NULL REFERENCES payments (id),
    order_id          TEXT NOT NULL REFERENCES orders (id),
    business_date     TEXT NOT NULL,
    method            TEXT NOT NULL,
    status            TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    drawer_session_id TEXT REFERENCES drawer_sessions (id),
    body              TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, id);
CREATE INDEX refunds_location ON refunds (org_id, location_id, business_date, id);
CREATE INDEX refunds_session ON refunds (drawer_session_id);

-- What taking money costs at a location; the defaults until first saved.
CREATE TABLE fee_schedules (
    location_id TEXT PRIMARY KEY REFERENCES locations (id),
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    body        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Fynlo's platform-fee ledger: + with a payment captured, − with a refund.
-- An entry's ID is its payment's or refund's, so it is written once.
CREATE TABLE platform_fees (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    location_id   TEXT NOT NULL REFERENCES locations (id),
    payment_id    TEXT NOT NULL REFERENCES payments (id),
    business_date TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX platform_fees_org ON platform_fees (org_id, business_date);
CREATE INDEX platform_fees_date ON platform_fees (business_date);

-- An organization's own card provider account; keys sealed (secret.Box).
CREATE TABLE provider_settings (
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    provider   TEXT NOT NULL,
    body       TEXT NOT NULL, -- mode, hint, version: what may be shown
    sealed_key TEXT NOT NULL,
    sealed_webhook_secret TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, provider)
);

-- Provider webhook events applied, by the provider's event ID: written in
-- the same transaction as the event's effect, so each applies once.
CREATE TABLE provider_events (
    provider   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    type       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, event_id)
);
