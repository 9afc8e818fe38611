-- Orders, stock and the double-entry ledger.

-- Compensation plan versions: insert-only; an order uses the version in force at placed_at.
CREATE TABLE plan_versions (
    brand_id       BIGINT NOT NULL REFERENCES brands (id),
    version        INTEGER NOT NULL CHECK (version >= 1),
    effective_from TIMESTAMPTZ NOT NULL,
    body           JSONB NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, version)
);
CREATE INDEX plan_versions_effective ON plan_versions (brand_id, effective_from);

CREATE TABLE orders (
    brand_id       BIGINT NOT NULL REFERENCES brands (id),
    id             BIGSERIAL,
    kind           TEXT NOT NULL CHECK (kind IN ('purchase', 'retail')),
    buyer_id       BIGINT,
    seller_id      BIGINT,            -- NULL: HQ
    customer_name  TEXT,
    customer_phone TEXT,
    amount         NUMERIC(16, 2) NOT NULL CHECK (amount >= 0),
    placed_at      TIMESTAMPTZ NOT NULL,
    plan_version   INTEGER,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, buyer_id) REFERENCES agents (brand_id, id),
    FOREIGN KEY (brand_id, seller_id) REFERENCES agents (brand_id, id),
    FOREIGN KEY (brand_id, plan_version) REFERENCES plan_versions (brand_id, version),
    CHECK ((kind = 'purchase') = (buyer_id IS NOT NULL AND plan_version IS NOT NULL)),
    CHECK (kind = 'purchase' OR seller_id IS NOT NULL)
);
CREATE INDEX orders_buyer ON orders (brand_id, buyer_id, placed_at) WHERE buyer_id IS NOT NULL;
CREATE INDEX orders_seller ON orders (brand_id, seller_id, placed_at) WHERE seller_id IS NOT NULL;
CREATE INDEX orders_placed ON orders (brand_id, placed_at);

CREATE TABLE order_lines (
    brand_id   BIGINT NOT NULL,
    order_id   BIGINT NOT NULL,
    line_no    INTEGER NOT NULL CHECK (line_no >= 1),
    sku        TEXT NOT NULL,
    qty        INTEGER NOT NULL CHECK (qty > 0),
    unit_price NUMERIC(16, 2) NOT NULL CHECK (unit_price >= 0),
    amount     NUMERIC(16, 2) NOT NULL CHECK (amount = unit_price * qty),
    -- the seller's moving average cost when it sold, to put refunded goods back at
    seller_unit_cost NUMERIC(18, 4),
    PRIMARY KEY (brand_id, order_id, line_no),
    UNIQUE (brand_id, order_id, sku),
    FOREIGN KEY (brand_id, order_id) REFERENCES orders (brand_id, id),
    FOREIGN KEY (brand_id, sku) REFERENCES products (brand_id, sku)
);

CREATE TABLE refunds (
    brand_id   BIGINT NOT NULL,
    id         BIGSERIAL,
    order_id   BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, order_id) REFERENCES orders (brand_id, id)
);

CREATE TABLE refund_lines (
    brand_id  BIGINT NOT NULL,
    refund_id BIGINT NOT NULL,
    order_id  BIGINT NOT NULL,
    line_no   INTEGER NOT NULL,
    qty       INTEGER NOT NULL CHECK (qty > 0),
    amount    NUMERIC(16, 2) NOT NULL,
    PRIMARY KEY (brand_id, refund_id, line_no),
    FOREIGN KEY (brand_id, refund_id) REFERENCES refunds (brand_id, id),
    FOREIGN KEY (brand_id, order_id, line_no) REFERENCES order_lines (brand_id, order_id, line_no)
);
CREATE INDEX refund_lines_line ON refund_lines (brand_id, order_id, line_no);

-- Stock per (agent, sku): the only rows two orders may contend on. HQ stock, when the
-- brand tracks it, is agent_id 0 in hq_stock.
CREATE TABLE stock (
    brand_id BIGINT NOT NULL,
    agent_id BIGINT NOT NULL,
    sku      TEXT NOT NULL,
    qty      BIGINT NOT NULL CHECK (qty >= 0),
    avg_cost NUMERIC(18, 4) NOT NULL DEFAULT 0 CHECK (avg_cost >= 0),
    PRIMARY KEY (brand_id, agent_id, sku),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    FOREIGN KEY (brand_id, sku) REFERENCES products (brand_id, sku)
);

CREATE TABLE hq_stock (
    brand_id BIGINT NOT NULL,
    sku      TEXT NOT NULL,
    qty      BIGINT NOT NULL CHECK (qty >= 0),
    PRIMARY KEY (brand_id, sku),
    FOREIGN KEY (brand_id, sku) REFERENCES products (brand_id, sku)
);

-- Every unit that moves, insert-only. NULL holder = HQ (from) or the outside world (to a
-- consumer, or an adjustment's source/sink), told apart by kind.
CREATE TABLE stock_moves (
    brand_id   BIGINT NOT NULL,
    id         BIGSERIAL,
    kind       TEXT NOT NULL CHECK (kind IN ('adjustment', 'purchase', 'retail', 'refund', 'buyback')),
    sku        TEXT NOT NULL,
    from_agent BIGINT,
    to_agent   BIGINT,
    qty        BIGINT NOT NULL CHECK (qty > 0),
    unit_cost  NUMERIC(18, 4) NOT NULL,
    order_id   BIGINT,
    refund_id  BIGINT,
    reason     TEXT,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id)
);
CREATE INDEX stock_moves_to ON stock_moves (brand_id, to_agent, sku) WHERE to_agent IS NOT NULL;
CREATE INDEX stock_moves_from ON stock_moves (brand_id, from_agent, sku) WHERE from_agent IS NOT NULL;

-- The journal. One entry per business event; its postings sum to exactly 0.00.
-- Posting amounts are signed: a credit (money owed to the account's holder, income) is
-- positive, a debit negative. An agent's wallet balance is the sum of its postings.
CREATE TABLE journal_entries (
    brand_id      BIGINT NOT NULL REFERENCES brands (id),
    id            BIGSERIAL,
    kind          TEXT NOT NULL CHECK (kind IN ('purchase', 'refund', 'adjustment', 'withdrawal', 'rebate', 'buyback', 'retail')),
    order_id      BIGINT,
    refund_id     BIGINT,
    withdrawal_id BIGINT,
    occurred_at   TIMESTAMPTZ NOT NULL,
    memo          TEXT,
    created_by    TEXT NOT NULL,
    posted_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id)
);
CREATE INDEX journal_entries_order ON journal_entries (brand_id, order_id) WHERE order_id IS NOT NULL;

CREATE TABLE postings (
    brand_id     BIGINT NOT NULL,
    id           BIGSERIAL,
    entry_id     BIGINT NOT NULL,
    account      TEXT NOT NULL CHECK (account IN ('wallet', 'clearing', 'revenue', 'bonus_expense', 'payouts', 'buyback')),
    agent_id     BIGINT,
    amount       NUMERIC(16, 2) NOT NULL,
    split_kind   TEXT CHECK (split_kind IN ('proceeds', 'differential', 'peer_bonus', 'referral_bonus', 'team_rebate', 'withdrawal', 'buyback')),
    order_id     BIGINT,
    line_no      INTEGER,
    generation   INTEGER,
    occurred_at  TIMESTAMPTZ NOT NULL,
    -- a credit is pending (not withdrawable) until then: the commission hold
    available_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, entry_id) REFERENCES journal_entries (brand_id, id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    CHECK ((account = 'wallet') = (agent_id IS NOT NULL) OR (account = 'revenue' AND split_kind = 'proceeds' AND agent_id IS NULL))
);
CREATE INDEX postings_entry ON postings (brand_id, entry_id);
CREATE INDEX postings_wallet ON postings (brand_id, agent_id, occurred_at) INCLUDE (amount, available_at, split_kind) WHERE account = 'wallet';
CREATE INDEX postings_order ON postings (brand_id, order_id, line_no) WHERE order_id IS NOT NULL;

-- Append-only, enforced by the database: no UPDATE, DELETE or TRUNCATE of the journal.
CREATE FUNCTION journal_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % is not allowed; post a reversing entry instead', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries FOR EACH STATEMENT EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings FOR EACH STATEMENT EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER stock_moves_append_only BEFORE UPDATE OR DELETE ON stock_moves FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();

-- Every entry balances. An entry's postings are inserted in one statement; after each
-- INSERT the entries it touched must sum to zero (one check per statement, not per row).
CREATE FUNCTION entries_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    e RECORD;
    total NUMERIC;
BEGIN
    -- usually one entry per statement; each sum is an index lookup on postings_entry
    FOR e IN SELECT DISTINCT brand_id, entry_id FROM inserted LOOP
        SELECT sum(amount) INTO total FROM postings WHERE brand_id = e.brand_id AND entry_id = e.entry_id;
        IF total <> 0 THEN
            RAISE EXCEPTION 'journal entry % of brand % does not balance: postings sum to %', e.entry_id, e.brand_id, total
                USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER postings_balance AFTER INSERT ON postings REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION entries_balance();

CREATE TABLE withdrawals (
    brand_id     BIGINT NOT NULL,
    id           BIGSERIAL,
    agent_id     BIGINT NOT NULL,
    amount       NUMERIC(16, 2) NOT NULL CHECK (amount > 0),
    status       TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'approved', 'rejected')),
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at   TIMESTAMPTZ,
    decided_by   TEXT,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id)
);
CREATE INDEX withdrawals_agent ON withdrawals (brand_id, agent_id, status);

-- Every brand starts with plan version 1: differentials only, in force since forever.
INSERT INTO plan_versions (brand_id, version, effective_from, body, created_by)
SELECT id, 1, '1970-01-01T00:00:00Z', '{"version": 1, "effective_from": "1970-01-01T00:00:00+00:00", "differential": {"enabled": true}}', 'migration'
  FROM brands;
