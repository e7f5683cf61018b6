-- What the order engine adds to a check at a location: a discretionary
-- service charge (basis points; automatic on dine-in checks with at least
-- service_charge_min_covers covers, 0 meaning every one), the tip presets the
-- POS offers (ascending basis points, comma-separated), and whether tax is
-- rounded once per rate per check or on each line.
ALTER TABLE locations ADD COLUMN service_charge_bp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE locations ADD COLUMN service_charge_min_covers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE locations ADD COLUMN gratuity_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE locations ADD COLUMN gratuity_presets_bp TEXT NOT NULL DEFAULT '500,1000,2000';
ALTER TABLE locations ADD COLUMN tax_rounding TEXT NOT NULL DEFAULT 'per_check';
