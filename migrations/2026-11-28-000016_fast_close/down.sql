ALTER TABLE statements ADD FOREIGN KEY (brand_id, month) REFERENCES periods (brand_id, month);
ALTER TABLE statements ADD FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id);
DROP INDEX statements_team;
CREATE INDEX statements_tree ON statements (brand_id, month, path)
    INCLUDE (tier_id, purchases_units, purchases_amount) WHERE path IS NOT NULL;
ALTER TABLE statements DROP COLUMN tree_pos, DROP COLUMN team_end;
ALTER TABLE postings DROP COLUMN entry_kind;
ALTER TABLE period_exports ALTER COLUMN content SET COMPRESSION pglz;
DROP FUNCTION csv_field(TEXT);
