-- Customers (客户), repurchase (复购) and retail that can be believed (docs/compliance.md).
--
-- A retail customer is known by phone: `orders.customer_phone` holds its digits only, so
-- "138 0013-8000" and "13800138000" are one customer. No table of customers: an agent's
-- customers are its retail orders grouped by phone (an index range), and a customer's
-- history is the orders themselves, which nothing rewrites.
UPDATE orders SET customer_phone = nullif(regexp_replace(customer_phone, '[^0-9]', '', 'g'), '')
 WHERE customer_phone IS NOT NULL AND customer_phone !~ '^[0-9]+$';

-- An agent's customers, and a customer across the brand (many sellers, quantity a month).
CREATE INDEX orders_seller_customer ON orders (brand_id, seller_id, customer_phone, placed_at)
    INCLUDE (customer_name, amount) WHERE kind = 'retail' AND customer_phone IS NOT NULL;
CREATE INDEX orders_customer ON orders (brand_id, customer_phone, placed_at)
    INCLUDE (seller_id) WHERE kind = 'retail' AND customer_phone IS NOT NULL;
-- Growth figures: joinings and applications of a month.
CREATE INDEX agents_joined ON agents (brand_id, joined_at);
-- Stock as at a month's close: today's stock less the moves since.
CREATE INDEX stock_moves_at ON stock_moves (brand_id, at);
CREATE INDEX applications_created ON applications (brand_id, created_at) INCLUDE (inviter_id, agent_id, decided_at);

-- 复购提醒: days one unit of a product lasts a consumer (a 30-day mask box); none: no reminder.
ALTER TABLE products ADD COLUMN repurchase_days INT CHECK (repurchase_days BETWEEN 1 AND 365);

-- Retail checks, brand-set: the ceiling (a retail unit price is at most retail_price × factor),
-- and the findings that keep retail out of the us_ftc share: one customer buying from at
-- least `retail_max_sellers` agents in a month, one customer taking more than
-- `retail_max_units` units in a month, more than half of a seller's month of retail recorded
-- in its last `retail_late_days` days (0: off).
ALTER TABLE brands
    ADD COLUMN retail_ceiling_factor NUMERIC(6, 2) NOT NULL DEFAULT 2.00 CHECK (retail_ceiling_factor BETWEEN 1 AND 100),
    ADD COLUMN retail_max_units INT NOT NULL DEFAULT 30 CHECK (retail_max_units BETWEEN 1 AND 100000),
    ADD COLUMN retail_max_sellers INT NOT NULL DEFAULT 3 CHECK (retail_max_sellers BETWEEN 2 AND 1000),
    ADD COLUMN retail_late_days INT NOT NULL DEFAULT 2 CHECK (retail_late_days BETWEEN 0 AND 10);

-- The retail of [p_start, p_end) that does not count toward the us_ftc share, one row per
-- (order, reason). Defined once here; the hold (ledger) and the compliance report read it.
CREATE FUNCTION retail_findings(p_brand BIGINT, p_start TIMESTAMPTZ, p_end TIMESTAMPTZ)
RETURNS TABLE (order_id BIGINT, seller_id BIGINT, customer_phone TEXT, placed_at TIMESTAMPTZ, amount NUMERIC, reason TEXT)
STABLE LANGUAGE sql AS $$
    WITH b AS (SELECT retail_max_units, retail_max_sellers, retail_late_days FROM brands WHERE id = p_brand),
    r AS (SELECT o.id, o.seller_id, o.customer_phone, o.placed_at,
                 o.amount - coalesce((SELECT sum(x.amount) FROM refund_lines x WHERE x.brand_id = o.brand_id AND x.order_id = o.id), 0) AS amount,
                 (SELECT sum(l.qty) FROM order_lines l WHERE l.brand_id = o.brand_id AND l.order_id = o.id)
                   - coalesce((SELECT sum(x.qty) FROM refund_lines x WHERE x.brand_id = o.brand_id AND x.order_id = o.id), 0) AS units
            FROM orders o
           WHERE o.brand_id = p_brand AND o.kind = 'retail' AND o.placed_at >= p_start AND o.placed_at < p_end),
    phone AS (SELECT r.customer_phone, count(DISTINCT r.seller_id) AS sellers, sum(r.units) AS units
                FROM r WHERE r.customer_phone IS NOT NULL GROUP BY 1),
    late AS (SELECT r.seller_id, sum(r.amount) AS total,
                    sum(r.amount) FILTER (WHERE r.placed_at >= p_end - make_interval(days => b.retail_late_days)) AS late
               FROM r, b WHERE b.retail_late_days > 0 GROUP BY 1)
    SELECT r.id, r.seller_id, r.customer_phone, r.placed_at, r.amount, 'no_contact' FROM r WHERE r.customer_phone IS NULL
    UNION ALL
    SELECT r.id, r.seller_id, r.customer_phone, r.placed_at, r.amount, 'many_sellers'
      FROM r JOIN phone p ON p.customer_phone = r.customer_phone, b WHERE p.sellers >= b.retail_max_sellers
    UNION ALL
    SELECT r.id, r.seller_id, r.customer_phone, r.placed_at, r.amount, 'over_quantity'
      FROM r JOIN phone p ON p.customer_phone = r.customer_phone, b WHERE p.units > b.retail_max_units
    UNION ALL
    SELECT r.id, r.seller_id, r.customer_phone, r.placed_at, r.amount, 'month_end'
      FROM r JOIN late l ON l.seller_id = r.seller_id, b
     WHERE r.placed_at >= p_end - make_interval(days => b.retail_late_days) AND l.late * 2 > l.total AND l.total > 0
$$;

-- Growth figures of a closed month are kept as served, like the compliance report.
ALTER TABLE period_reports DROP CONSTRAINT period_reports_kind_check;
ALTER TABLE period_reports ADD CONSTRAINT period_reports_kind_check CHECK (kind IN ('compliance', 'growth'));
