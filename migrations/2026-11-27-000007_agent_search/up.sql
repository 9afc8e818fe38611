-- Agent search (GET /agents?q=): a name fragment through trigrams, a phone prefix through
-- a pattern-ops btree. pg_trgm ships with postgresql-contrib.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX agents_name_trgm ON agents USING gin (name gin_trgm_ops);
CREATE INDEX agents_phone_prefix ON agents (brand_id, phone text_pattern_ops);
