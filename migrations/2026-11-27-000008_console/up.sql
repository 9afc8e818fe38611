-- A rejected withdrawal keeps its reason; the queue is read by status, newest first per brand.
ALTER TABLE withdrawals ADD COLUMN reason text;
CREATE INDEX withdrawals_queue ON withdrawals (brand_id, status, id);
CREATE INDEX withdrawals_agent_history ON withdrawals (brand_id, agent_id, id);
-- A move (and any other change HQ makes by hand) may say why.
ALTER TABLE agent_events ADD COLUMN reason text;
-- 上下架: a product taken off sale stays (its history, refunds, stock) but takes no new orders.
ALTER TABLE products ADD COLUMN on_sale boolean NOT NULL DEFAULT true;
CREATE INDEX journal_entries_occurred ON journal_entries (brand_id, occurred_at);
