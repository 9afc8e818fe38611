-- The dashboard's figures per brand and month (in the brand's time zone), kept by triggers
-- so that no code path can write an order, a refund, a cut or an agent without them:
-- purchases and retail net of refunds (by the order's month), cuts paid to wallets (by the
-- posting's month), new agents (by joining month), active agents (bought or sold).
--
-- No hot row: each month's figures are spread over 64 shards (by agent or entry id); a
-- writer touches one shard row, last in its transaction, and a read sums at most 64 rows a
-- month. Active agents are counted once each through agent_month_active, whose insert-or-
-- nothing says whether this agent was already counted for the month. `verify` recomputes
-- the figures from the books and names any month that differs.
CREATE TABLE month_figures (
    brand_id   BIGINT NOT NULL REFERENCES brands (id),
    month      TEXT NOT NULL,
    shard      SMALLINT NOT NULL,
    purchases  NUMERIC(18, 2) NOT NULL DEFAULT 0,
    retail     NUMERIC(18, 2) NOT NULL DEFAULT 0,
    payouts    NUMERIC(18, 2) NOT NULL DEFAULT 0,
    new_agents BIGINT NOT NULL DEFAULT 0,
    active     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (brand_id, month, shard)
);

CREATE TABLE agent_month_active (
    brand_id BIGINT NOT NULL,
    month    TEXT NOT NULL,
    agent_id BIGINT NOT NULL,
    PRIMARY KEY (brand_id, month, agent_id)
);

CREATE FUNCTION brand_month(brand BIGINT, at TIMESTAMPTZ) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT to_char(at AT TIME ZONE b.timezone, 'YYYY-MM') FROM brands b WHERE b.id = brand
$$;

CREATE FUNCTION month_figures_add(brand BIGINT, m TEXT, shard_of BIGINT, d_purchases NUMERIC, d_retail NUMERIC, d_payouts NUMERIC, d_new BIGINT, d_active BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO month_figures AS f (brand_id, month, shard, purchases, retail, payouts, new_agents, active)
    VALUES (brand, m, (shard_of % 64)::smallint, d_purchases, d_retail, d_payouts, d_new, d_active)
    ON CONFLICT (brand_id, month, shard) DO UPDATE
       SET purchases = f.purchases + EXCLUDED.purchases, retail = f.retail + EXCLUDED.retail, payouts = f.payouts + EXCLUDED.payouts,
           new_agents = f.new_agents + EXCLUDED.new_agents, active = f.active + EXCLUDED.active
$$;

-- Row triggers deferred to commit: every figure update is the last thing its transaction
-- does, and every update of one order (the order, its refunds, its cuts) goes to one shard
-- (the order id's), so a transaction holds at most one shard row and only until it commits.

-- Each trigger is one SQL statement (the month computed inline, the upsert and, for an
-- order, the insert-or-nothing that counts its agent active): on the order path they cost
-- two statements per purchase, at commit.

-- orders: volume by kind, and the acting agent (buyer of a purchase, seller of a retail sale) active
CREATE FUNCTION month_figures_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH m AS (SELECT to_char(NEW.placed_at AT TIME ZONE b.timezone, 'YYYY-MM') AS month FROM brands b WHERE b.id = NEW.brand_id),
         act AS (INSERT INTO agent_month_active (brand_id, month, agent_id)
                 SELECT NEW.brand_id, m.month, CASE WHEN NEW.kind = 'purchase' THEN NEW.buyer_id ELSE NEW.seller_id END FROM m
                  WHERE CASE WHEN NEW.kind = 'purchase' THEN NEW.buyer_id ELSE NEW.seller_id END IS NOT NULL
                 ON CONFLICT DO NOTHING RETURNING 1)
    INSERT INTO month_figures AS f (brand_id, month, shard, purchases, retail, active)
    SELECT NEW.brand_id, m.month, (NEW.id % 64)::smallint,
           CASE WHEN NEW.kind = 'purchase' THEN NEW.amount ELSE 0 END, CASE WHEN NEW.kind = 'retail' THEN NEW.amount ELSE 0 END,
           (SELECT count(*) FROM act)
      FROM m
    ON CONFLICT (brand_id, month, shard) DO UPDATE
       SET purchases = f.purchases + EXCLUDED.purchases, retail = f.retail + EXCLUDED.retail, active = f.active + EXCLUDED.active;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER month_figures_order AFTER INSERT ON orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION month_figures_order();

-- refunds: taken off the volume of the refunded order's month and kind
CREATE FUNCTION month_figures_refund() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM month_figures_add(o.brand_id, brand_month(o.brand_id, o.placed_at), o.id,
                              CASE WHEN o.kind = 'purchase' THEN -NEW.amount ELSE 0 END,
                              CASE WHEN o.kind = 'retail' THEN -NEW.amount ELSE 0 END, 0, 0, 0)
       FROM orders o WHERE o.brand_id = NEW.brand_id AND o.id = NEW.order_id;
    RETURN NULL;
END $$;
-- refunds are rare: plan each call with today's statistics (the order is found by its key)
ALTER FUNCTION month_figures_refund() SET plan_cache_mode = force_custom_plan;
CREATE CONSTRAINT TRIGGER month_figures_refund AFTER INSERT ON refund_lines DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION month_figures_refund();

-- cuts paid to wallets (and their reversals), by the entry's month: one trigger per journal
-- entry (not per posting), reading the entry's own total of wallet cuts, which the ledger
-- writes with it (no lookup of the postings: a plan cached while the table was small could
-- turn that lookup into a scan).
ALTER TABLE journal_entries ADD COLUMN wallet_cuts NUMERIC(16, 2);
CREATE FUNCTION month_figures_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.wallet_cuts IS NOT NULL AND NEW.wallet_cuts <> 0 THEN
        INSERT INTO month_figures AS f (brand_id, month, shard, payouts)
        SELECT NEW.brand_id, to_char(NEW.occurred_at AT TIME ZONE b.timezone, 'YYYY-MM'), (coalesce(NEW.order_id, NEW.id) % 64)::smallint, NEW.wallet_cuts
          FROM brands b WHERE b.id = NEW.brand_id
        ON CONFLICT (brand_id, month, shard) DO UPDATE SET payouts = f.payouts + EXCLUDED.payouts;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER month_figures_entry AFTER INSERT ON journal_entries DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION month_figures_entry();

CREATE FUNCTION month_figures_agent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM month_figures_add(NEW.brand_id, brand_month(NEW.brand_id, NEW.joined_at), NEW.id, 0, 0, 0, 1, 0);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER month_figures_agent AFTER INSERT ON agents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION month_figures_agent();

-- Rebuilds a brand's figures from the books (this migration, a time-zone change, a bulk load).
CREATE FUNCTION month_figures_rebuild(brand BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM month_figures WHERE brand_id = brand;
    DELETE FROM agent_month_active WHERE brand_id = brand;
    INSERT INTO agent_month_active (brand_id, month, agent_id)
    SELECT DISTINCT o.brand_id, brand_month(o.brand_id, o.placed_at), CASE WHEN o.kind = 'purchase' THEN o.buyer_id ELSE o.seller_id END
      FROM orders o WHERE o.brand_id = brand AND CASE WHEN o.kind = 'purchase' THEN o.buyer_id ELSE o.seller_id END IS NOT NULL;
    INSERT INTO month_figures (brand_id, month, shard, purchases, retail, payouts, new_agents, active)
    SELECT brand, month, 0, sum(purchases), sum(retail), sum(payouts), sum(new_agents), sum(active) FROM (
        SELECT brand_month(o.brand_id, o.placed_at) AS month,
               coalesce(sum(o.amount - coalesce(r.amount, 0)) FILTER (WHERE o.kind = 'purchase'), 0) AS purchases,
               coalesce(sum(o.amount - coalesce(r.amount, 0)) FILTER (WHERE o.kind = 'retail'), 0) AS retail, 0 AS payouts, 0 AS new_agents, 0 AS active
          FROM orders o LEFT JOIN (SELECT order_id, sum(amount) AS amount FROM refund_lines WHERE brand_id = brand GROUP BY order_id) r ON r.order_id = o.id
         WHERE o.brand_id = brand GROUP BY 1
        UNION ALL
        SELECT brand_month(brand, occurred_at), 0, 0, sum(amount), 0, 0 FROM postings
         WHERE brand_id = brand AND account = 'wallet' AND split_kind IN ('differential', 'peer_bonus', 'referral_bonus', 'team_rebate') GROUP BY 1
        UNION ALL
        SELECT brand_month(brand, joined_at), 0, 0, 0, count(*), 0 FROM agents WHERE brand_id = brand GROUP BY 1
        UNION ALL
        SELECT month, 0, 0, 0, 0, count(*) FROM agent_month_active WHERE brand_id = brand GROUP BY 1
    ) t GROUP BY month;
END $$;

SELECT month_figures_rebuild(id) FROM brands;
