-- Open banking: the sweep finds the QR payments still in flight (to
-- expire them, or ask their bank) without reading every payment; a bank's
-- refund webhooks name the refund by the provider's ID.
CREATE INDEX payments_bank_in_flight ON payments (id)
    WHERE method = 'open_banking' AND status IN ('pending', 'requires_action', 'authorized', 'surplus');

ALTER TABLE refunds ADD COLUMN provider_ref TEXT;
CREATE INDEX refunds_provider_ref ON refunds (org_id, provider_ref);
