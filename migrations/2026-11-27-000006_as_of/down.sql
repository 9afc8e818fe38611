DROP TABLE period_reports;
DROP INDEX statements_tree;
ALTER TABLE statements DROP COLUMN path, DROP COLUMN tier_id, DROP COLUMN status;
DROP FUNCTION agent_as_of(BIGINT, BIGINT, TIMESTAMPTZ);
DROP INDEX orders_first_purchase;
ALTER TABLE orders DROP COLUMN buyer_tier_id, DROP COLUMN upline, DROP COLUMN upline_tiers, DROP COLUMN upline_active,
    DROP COLUMN sponsor_id, DROP COLUMN sponsor_active, DROP COLUMN first_purchase;
DROP TABLE first_purchases;
