-- Compliance: retail price floors (控价) and agent exits with buyback.

ALTER TABLE products ADD COLUMN retail_floor NUMERIC(14, 2) CHECK (retail_floor >= 0);
ALTER TABLE brands ADD COLUMN price_floor_mode TEXT NOT NULL DEFAULT 'reject' CHECK (price_floor_mode IN ('reject', 'flag'));
-- The retail share below which the compliance report lists an agent or team.
ALTER TABLE brands ADD COLUMN min_retail_share NUMERIC(5, 4) NOT NULL DEFAULT 0.5 CHECK (min_retail_share BETWEEN 0 AND 1);
ALTER TABLE order_lines ADD COLUMN below_floor BOOLEAN NOT NULL DEFAULT false;

-- One row per exit: the buyback and the downline moves, returned again on a repeated call.
CREATE TABLE agent_exits (
    brand_id         BIGINT NOT NULL,
    agent_id         BIGINT NOT NULL,
    journal_entry_id BIGINT,
    response         TEXT NOT NULL,
    exited_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    exited_by        TEXT NOT NULL,
    PRIMARY KEY (brand_id, agent_id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id)
);
CREATE TRIGGER agent_exits_append_only BEFORE UPDATE OR DELETE ON agent_exits FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();

-- us_ftc: downline pay of a month whose team retail share stayed at or below 50% is
-- reversed at close, as its own entry kind and posting kind.
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_check
    CHECK (kind IN ('purchase', 'refund', 'adjustment', 'withdrawal', 'rebate', 'buyback', 'retail', 'ftc_hold'));
ALTER TABLE postings DROP CONSTRAINT postings_split_kind_check;
ALTER TABLE postings ADD CONSTRAINT postings_split_kind_check
    CHECK (split_kind IN ('proceeds', 'differential', 'peer_bonus', 'referral_bonus', 'team_rebate', 'withdrawal', 'buyback', 'ftc_hold'));

-- Each agent's own purchases per month (net of refunds), kept in tree order, so a team's
-- total is one index-only range scan. Written only by that agent's own orders and refunds:
-- no row is shared by many orders. Paths follow moves like agents.path does.
CREATE TABLE agent_month_purchases (
    brand_id BIGINT NOT NULL,
    month    TEXT NOT NULL,
    agent_id BIGINT NOT NULL,
    path     BIGINT[] NOT NULL,
    units    BIGINT NOT NULL,
    amount   NUMERIC(16, 2) NOT NULL,
    PRIMARY KEY (brand_id, month, agent_id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id)
);
CREATE INDEX agent_month_purchases_team ON agent_month_purchases (brand_id, month, path) INCLUDE (units, amount);

-- Every order line net of its refunds so far: the one definition the reports and the
-- statements share. A plain view: PostgreSQL inlines it into each query.
CREATE VIEW order_lines_net AS
SELECT o.brand_id, o.id AS order_id, l.line_no, o.kind, o.buyer_id, o.seller_id, o.placed_at,
       l.qty - coalesce(r.qty, 0) AS units, l.amount - coalesce(r.amount, 0) AS amount
  FROM orders o
  JOIN order_lines l ON l.brand_id = o.brand_id AND l.order_id = o.id
  LEFT JOIN (SELECT brand_id, order_id, line_no, sum(qty) AS qty, sum(amount) AS amount FROM refund_lines GROUP BY 1, 2, 3) r
         ON r.brand_id = l.brand_id AND r.order_id = l.order_id AND r.line_no = l.line_no;
