-- A rejected withdrawal keeps its reason; the queue is read by status, newest first per brand.
ALTER TABLE withdrawals ADD COLUMN reason text;
CREATE INDEX withdrawals_queue ON withdrawals (brand_id, status, id);
CREATE INDEX withdrawals_agent ON withdrawals (brand_id, agent_id, id);
-- A move (and any other change HQ makes by hand) may say why.
ALTER TABLE agent_events ADD COLUMN reason text;
