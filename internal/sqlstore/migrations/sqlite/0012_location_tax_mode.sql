-- A location prices VAT-inclusive (UK, EU: the shelf price is what the guest pays)
-- or tax-exclusive (US sales tax: added at the till).
ALTER TABLE locations ADD COLUMN tax_mode TEXT NOT NULL DEFAULT 'inclusive';
