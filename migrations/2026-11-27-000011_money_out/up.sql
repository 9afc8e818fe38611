-- Money out (#13): staff roles, payees, withdrawals paid to the bank with fee and tax,
-- payout batches, adjustments by two people, and the audit log.

-- Staff: several per brand, each with one role. The first admin of every brand is its owner.
ALTER TABLE hq_users
    ADD COLUMN role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'operations', 'finance', 'auditor')),
    ADD COLUMN name TEXT NOT NULL DEFAULT '',
    ADD COLUMN active BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE hq_users ALTER COLUMN role DROP DEFAULT;

-- The login throttle counts failures per (login, source address): a stranger guessing from
-- one address slows down only that address, never the real user somewhere else.
ALTER TABLE login_failures ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE login_failures DROP CONSTRAINT login_failures_pkey;
ALTER TABLE login_failures ADD PRIMARY KEY (brand_id, login, source);

-- Withdrawal rules of a brand.
ALTER TABLE brands
    ADD COLUMN withdrawal_min NUMERIC(16, 2) NOT NULL DEFAULT 1.00 CHECK (withdrawal_min > 0),
    ADD COLUMN withdrawal_max NUMERIC(16, 2) NOT NULL DEFAULT 50000.00 CHECK (withdrawal_max > 0),
    ADD COLUMN withdrawal_fee_rate NUMERIC(6, 4) NOT NULL DEFAULT 0 CHECK (withdrawal_fee_rate BETWEEN 0 AND 1),
    ADD COLUMN withdrawal_fee_min NUMERIC(16, 2) NOT NULL DEFAULT 0 CHECK (withdrawal_fee_min >= 0),
    ADD COLUMN withholding_tax_rate NUMERIC(6, 4) NOT NULL DEFAULT 0 CHECK (withholding_tax_rate BETWEEN 0 AND 1),
    ADD CONSTRAINT withdrawal_range CHECK (withdrawal_min <= withdrawal_max);

-- Where an agent is paid. The account is stored whole (the payout file needs it) and shown
-- masked everywhere else.
CREATE TABLE payees (
    brand_id   BIGINT NOT NULL,
    agent_id   BIGINT NOT NULL,
    method     TEXT NOT NULL CHECK (method IN ('bank', 'alipay', 'wechat')),
    name       TEXT NOT NULL,
    account    TEXT NOT NULL,
    bank       TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, agent_id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id)
);

-- Payout files: each withdrawal is in at most one batch, the first file that carried it.
CREATE TABLE payout_batches (
    brand_id    BIGINT NOT NULL REFERENCES brands (id),
    no          INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by  TEXT NOT NULL,
    PRIMARY KEY (brand_id, no)
);

-- Withdrawals: requested → approved → paid, or rejected, or failed after approval. The
-- payee, fee, tax and net are fixed when the agent asks (it was shown them).
ALTER TABLE withdrawals DROP CONSTRAINT withdrawals_status_check;
ALTER TABLE withdrawals
    ADD COLUMN fee NUMERIC(16, 2) NOT NULL DEFAULT 0 CHECK (fee >= 0),
    ADD COLUMN tax NUMERIC(16, 2) NOT NULL DEFAULT 0 CHECK (tax >= 0),
    ADD COLUMN payee_method TEXT,
    ADD COLUMN payee_name TEXT,
    ADD COLUMN payee_account TEXT,
    ADD COLUMN payee_bank TEXT,
    ADD COLUMN requested_by TEXT,
    ADD COLUMN batch_no INTEGER,
    ADD COLUMN exported_at TIMESTAMPTZ,
    ADD COLUMN paid_at TIMESTAMPTZ,
    ADD COLUMN paid_by TEXT,
    ADD COLUMN reference TEXT,
    ADD COLUMN failed_at TIMESTAMPTZ,
    ADD COLUMN failed_by TEXT,
    ADD COLUMN failure TEXT,
    ADD CONSTRAINT withdrawals_status_check CHECK (status IN ('requested', 'approved', 'paid', 'rejected', 'failed')),
    ADD CONSTRAINT withdrawals_net_positive CHECK (amount - fee - tax > 0),
    ADD CONSTRAINT withdrawals_paid_reference CHECK (status <> 'paid' OR (reference IS NOT NULL AND paid_at IS NOT NULL)),
    ADD CONSTRAINT withdrawals_failed_reason CHECK (status <> 'failed' OR failure IS NOT NULL),
    ADD CONSTRAINT withdrawals_batch FOREIGN KEY (brand_id, batch_no) REFERENCES payout_batches (brand_id, no);
-- Before this version an approval was the payment (its entry moved the money to `payouts`).
UPDATE withdrawals SET status = 'paid', paid_at = decided_at, paid_by = decided_by, reference = 'approved before payouts were tracked'
 WHERE status = 'approved';
CREATE INDEX withdrawals_batch_rows ON withdrawals (brand_id, batch_no) WHERE batch_no IS NOT NULL;

-- New accounts: approved but not yet paid (`payouts_due`), the fees HQ keeps, the tax it
-- withholds for the authorities, and manual adjustments.
ALTER TABLE postings DROP CONSTRAINT postings_account_check;
ALTER TABLE postings ADD CONSTRAINT postings_account_check
    CHECK (account IN ('wallet', 'clearing', 'revenue', 'bonus_expense', 'payouts', 'buyback', 'payouts_due', 'withdrawal_fees', 'tax_withheld', 'adjustments'));
ALTER TABLE postings DROP CONSTRAINT postings_split_kind_check;
ALTER TABLE postings ADD CONSTRAINT postings_split_kind_check
    CHECK (split_kind IN ('proceeds', 'differential', 'peer_bonus', 'referral_bonus', 'team_rebate', 'withdrawal', 'buyback', 'ftc_hold', 'withdrawal_fee', 'withholding_tax', 'adjustment'));
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_kind_check
    CHECK (kind IN ('purchase', 'refund', 'adjustment', 'withdrawal', 'rebate', 'buyback', 'retail', 'ftc_hold', 'payout', 'payout_failed'));

-- What the monthly file shows as payable: withdrawable at close (after the hold, less the
-- withdrawals asked for or approved and not yet posted in the month). Null for months closed
-- before this version, whose files keep their bytes.
ALTER TABLE statements ADD COLUMN payable NUMERIC(16, 2);

-- Manual credits (+) and debits (−) of a wallet, posted only when a second person approves.
CREATE TABLE adjustments (
    brand_id     BIGINT NOT NULL,
    id           BIGSERIAL,
    agent_id     BIGINT NOT NULL,
    amount       NUMERIC(16, 2) NOT NULL CHECK (amount <> 0),
    category     TEXT NOT NULL CHECK (category IN ('correction', 'dispute', 'bonus', 'penalty', 'other')),
    reason       TEXT NOT NULL,
    dispute_id   BIGINT,
    status       TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'approved', 'rejected')),
    made_by      BIGINT NOT NULL,
    made_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    checked_by   BIGINT,
    checked_at   TIMESTAMPTZ,
    rejection    TEXT,
    entry_id     BIGINT,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    FOREIGN KEY (brand_id, made_by) REFERENCES hq_users (brand_id, id),
    FOREIGN KEY (brand_id, checked_by) REFERENCES hq_users (brand_id, id),
    FOREIGN KEY (brand_id, dispute_id) REFERENCES statement_reviews (brand_id, id),
    CHECK (checked_by IS NULL OR checked_by <> made_by),
    CHECK ((status = 'approved') = (entry_id IS NOT NULL)),
    CHECK (status <> 'rejected' OR rejection IS NOT NULL)
);
CREATE INDEX adjustments_queue ON adjustments (brand_id, status, id);

-- The audit log: every HQ write, insert-only like the journal, each row chained by a sha256
-- to the previous row of its chain, so `verify` can tell that none was changed or removed.
-- Each staff member has 16 chains (picked by the request id): neither two people nor one
-- person's concurrent requests (a script placing orders) queue behind one chain head.
CREATE TABLE audit_log (
    brand_id    BIGINT NOT NULL REFERENCES brands (id),
    id          BIGSERIAL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id    BIGINT NOT NULL,
    chain       SMALLINT NOT NULL CHECK (chain BETWEEN 0 AND 15),
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    before      JSONB,
    after       JSONB,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (brand_id, id)
);
CREATE INDEX audit_log_actor ON audit_log (brand_id, actor_id, id);
CREATE INDEX audit_log_chain ON audit_log (brand_id, actor_id, chain, id);
CREATE INDEX audit_log_action ON audit_log (brand_id, action, id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION journal_is_append_only();

-- The one way a row gets in: under its chain's lock (held to commit, so ids and the chain
-- agree), hashed over every field as the database prints it, zone-independent.
CREATE FUNCTION audit_row_hash(prev TEXT, id BIGINT, at TIMESTAMPTZ, actor_id BIGINT, chain SMALLINT, actor TEXT, role TEXT, action TEXT, target TEXT,
                               request_id TEXT, before JSONB, after JSONB) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws(E'\x1f', prev, id::text, (extract(epoch FROM at) * 1000000)::bigint::text, actor_id::text, chain::text,
                                              actor, role, action, target, request_id, coalesce(before::text, '-'), coalesce(after::text, '-')), 'UTF8')), 'hex')
$$;

CREATE FUNCTION audit_append(p_brand BIGINT, p_actor_id BIGINT, p_chain SMALLINT, p_actor TEXT, p_role TEXT, p_action TEXT, p_target TEXT, p_request TEXT,
                             p_before JSONB, p_after JSONB) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    v_prev TEXT;
    v_id BIGINT;
    v_at TIMESTAMPTZ := clock_timestamp();
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('audit_log:' || p_actor_id || ':' || p_chain, p_brand));
    SELECT hash INTO v_prev FROM audit_log WHERE brand_id = p_brand AND actor_id = p_actor_id AND chain = p_chain ORDER BY id DESC LIMIT 1;
    v_prev := coalesce(v_prev, 'genesis');
    v_id := nextval(pg_get_serial_sequence('audit_log', 'id'));
    INSERT INTO audit_log (brand_id, id, at, actor_id, chain, actor, role, action, target, request_id, before, after, prev_hash, hash)
    VALUES (p_brand, v_id, v_at, p_actor_id, p_chain, p_actor, p_role, p_action, p_target, p_request, p_before, p_after, v_prev,
            audit_row_hash(v_prev, v_id, v_at, p_actor_id, p_chain, p_actor, p_role, p_action, p_target, p_request, p_before, p_after));
    RETURN v_id;
END $$;

-- A dispute is answered by an adjustment (its entry is kept too, as before).
ALTER TABLE statement_reviews ADD COLUMN adjustment_id BIGINT;
