DROP TABLE agent_exits;
ALTER TABLE order_lines DROP COLUMN below_floor;
ALTER TABLE brands DROP COLUMN price_floor_mode;
ALTER TABLE brands DROP COLUMN min_retail_share;
ALTER TABLE products DROP COLUMN retail_floor;
