DROP INDEX journal_entries_occurred;
ALTER TABLE products DROP COLUMN on_sale;
ALTER TABLE agent_events DROP COLUMN reason;
DROP INDEX withdrawals_agent_history;
DROP INDEX withdrawals_queue;
ALTER TABLE withdrawals DROP COLUMN reason;
