DROP VIEW order_lines_net;
DROP TABLE agent_month_purchases;
ALTER TABLE postings DROP CONSTRAINT postings_split_kind_check;
ALTER TABLE postings ADD CONSTRAINT postings_split_kind_check
    CHECK (split_kind IN ('proceeds', 'differential', 'peer_bonus', 'referral_bonus', 'team_rebate', 'withdrawal', 'buyback'));
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_check
    CHECK (kind IN ('purchase', 'refund', 'adjustment', 'withdrawal', 'rebate', 'buyback', 'retail'));
DROP TABLE agent_exits;
ALTER TABLE order_lines DROP COLUMN below_floor;
ALTER TABLE brands DROP COLUMN price_floor_mode;
ALTER TABLE brands DROP COLUMN min_retail_share;
ALTER TABLE products DROP COLUMN retail_floor;
