DROP INDEX IF EXISTS agents_sponsor;
DROP TABLE upgrade_proposals;
DROP TABLE upgrade_rules;
ALTER TABLE brands DROP COLUMN upgrade_mode;
