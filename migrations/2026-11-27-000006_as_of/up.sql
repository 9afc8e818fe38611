-- As of any instant: orders carry the tree as it stood at placed_at, a buyer's first
-- purchase is claimed exactly once, and closed months keep the tree and the reports they
-- were closed with.

-- The first purchase of each buyer, claimed by INSERT ... ON CONFLICT DO NOTHING before
-- the order is split: of any number of concurrent first orders exactly one gets the row
-- (the others wait for its commit, then find it), so a first-purchase referral bonus is
-- paid once. Keyed by buyer: never shared by two buyers' orders.
CREATE TABLE first_purchases (
    brand_id   BIGINT NOT NULL,
    buyer_id   BIGINT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, buyer_id),
    FOREIGN KEY (brand_id, buyer_id) REFERENCES agents (brand_id, id)
);
INSERT INTO first_purchases (brand_id, buyer_id, claimed_at)
SELECT brand_id, buyer_id, min(created_at) FROM orders WHERE kind = 'purchase' GROUP BY 1, 2;

-- What a purchase was split with, as of its placed_at: the buyer's tier, the chain from the
-- parent up to (not including) the seller with each member's tier and whether it was
-- active, and whether it was the buyer's first purchase. NULL on orders written before
-- this migration. Lets verify and the what-if replay work from the order alone.
ALTER TABLE orders
    ADD COLUMN buyer_tier_id  BIGINT,
    ADD COLUMN upline         BIGINT[],
    ADD COLUMN upline_tiers   BIGINT[],
    ADD COLUMN upline_active  BOOLEAN[],
    ADD COLUMN sponsor_id     BIGINT,
    ADD COLUMN sponsor_active BOOLEAN,
    ADD COLUMN first_purchase BOOLEAN NOT NULL DEFAULT false;
UPDATE orders o SET first_purchase = true
  FROM (SELECT DISTINCT ON (brand_id, buyer_id) brand_id, id FROM orders WHERE kind = 'purchase' ORDER BY brand_id, buyer_id, created_at, id) f
 WHERE o.brand_id = f.brand_id AND o.id = f.id;
-- A buyer has at most one first purchase, whatever the code does.
CREATE UNIQUE INDEX orders_first_purchase ON orders (brand_id, buyer_id) WHERE first_purchase;

-- An agent as of an instant: each of parent, tier and status is the old value of the first
-- event of its kind after `at`, or the current value when nothing changed since.
-- agent_events.at is the instant each change took effect (moves, tier and status changes
-- take the brand's tree lock exclusively and are dated after they hold it).
CREATE FUNCTION agent_as_of(p_brand BIGINT, p_id BIGINT, p_at TIMESTAMPTZ,
                            OUT parent_id BIGINT, OUT tier_id BIGINT, OUT status TEXT, OUT joined_at TIMESTAMPTZ)
STABLE LANGUAGE sql AS $$
    SELECT CASE WHEN m.found THEN m.old_value::bigint ELSE a.parent_id END,
           CASE WHEN t.found THEN t.old_value::bigint ELSE a.tier_id END,
           CASE WHEN s.found THEN s.old_value ELSE a.status END,
           a.joined_at
      FROM agents a
      LEFT JOIN LATERAL (SELECT true AS found, e.old_value FROM agent_events e
                          WHERE e.brand_id = p_brand AND e.agent_id = p_id AND e.kind = 'moved' AND e.at > p_at
                          ORDER BY e.at, e.id LIMIT 1) m ON true
      LEFT JOIN LATERAL (SELECT true AS found, e.old_value FROM agent_events e
                          WHERE e.brand_id = p_brand AND e.agent_id = p_id AND e.kind = 'tier_changed' AND e.at > p_at
                          ORDER BY e.at, e.id LIMIT 1) t ON true
      LEFT JOIN LATERAL (SELECT true AS found, e.old_value FROM agent_events e
                          WHERE e.brand_id = p_brand AND e.agent_id = p_id AND e.kind = 'status_changed' AND e.at > p_at
                          ORDER BY e.at, e.id LIMIT 1) s ON true
     WHERE a.brand_id = p_brand AND a.id = p_id
$$;

-- The tree of a closed month: each statement keeps its agent's path, tier and status as
-- they stood at close (the tree the team rebates were computed on). Reports of a closed
-- month read the statements, never today's tree. NULL on months closed before this.
ALTER TABLE statements ADD COLUMN path BIGINT[], ADD COLUMN tier_id BIGINT, ADD COLUMN status TEXT;
-- A closed month's team is one index-only range: counts by tier and depth, purchases.
CREATE INDEX statements_tree ON statements (brand_id, month, path)
    INCLUDE (tier_id, purchases_units, purchases_amount) WHERE path IS NOT NULL;

-- Reports frozen at close (the compliance report with its income disclosure), as served.
CREATE TABLE period_reports (
    brand_id BIGINT NOT NULL,
    month    TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('compliance')),
    body     JSONB NOT NULL,
    PRIMARY KEY (brand_id, month, kind),
    FOREIGN KEY (brand_id, month) REFERENCES periods (brand_id, month)
);

CREATE TRIGGER period_reports_append_only BEFORE UPDATE OR DELETE ON period_reports FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
