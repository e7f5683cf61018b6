-- Menu items; their variants, allergens and dietary flags travel with the
-- item as JSON. Barcodes get a table of their own: unique per
-- organization, and looked up by the scanner.

CREATE TABLE items (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    category_id     TEXT NOT NULL REFERENCES categories (id),
    tax_category_id TEXT NOT NULL REFERENCES tax_categories (id),
    name            TEXT NOT NULL,
    body            TEXT NOT NULL,
    archived        BOOLEAN NOT NULL DEFAULT FALSE,
    version         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX items_org ON items (org_id, id);
CREATE INDEX items_category ON items (category_id);
CREATE INDEX items_tax_category ON items (tax_category_id);

CREATE TABLE item_barcodes (
    org_id     TEXT NOT NULL,
    barcode    TEXT NOT NULL,
    item_id    TEXT NOT NULL REFERENCES items (id),
    variant_id TEXT NOT NULL,
    CONSTRAINT item_barcodes_org_barcode_unique UNIQUE (org_id, barcode)
);
CREATE INDEX item_barcodes_item ON item_barcodes (item_id);
