-- Monthly settlement: closed periods, one statement per agent, stored exports.

-- A month is open until a row here says it is closed; closed is forever.
CREATE TABLE periods (
    brand_id        BIGINT NOT NULL REFERENCES brands (id),
    month           TEXT NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    starts_at       TIMESTAMPTZ NOT NULL,
    ends_at         TIMESTAMPTZ NOT NULL,
    closed_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_by       TEXT NOT NULL,
    rebate_entry_id BIGINT,
    PRIMARY KEY (brand_id, month),
    CHECK (starts_at < ends_at)
);

CREATE TABLE statements (
    brand_id              BIGINT NOT NULL,
    month                 TEXT NOT NULL,
    agent_id              BIGINT NOT NULL,
    opening_balance       NUMERIC(16, 2) NOT NULL,
    proceeds              NUMERIC(16, 2) NOT NULL,
    differential          NUMERIC(16, 2) NOT NULL,
    peer_bonus            NUMERIC(16, 2) NOT NULL,
    referral_bonus        NUMERIC(16, 2) NOT NULL,
    team_rebate           NUMERIC(16, 2) NOT NULL,
    clawbacks             NUMERIC(16, 2) NOT NULL,
    withdrawals           NUMERIC(16, 2) NOT NULL,
    other                 NUMERIC(16, 2) NOT NULL,
    closing_balance       NUMERIC(16, 2) NOT NULL,
    team_volume           NUMERIC(16, 2) NOT NULL,
    purchases_amount      NUMERIC(16, 2) NOT NULL,
    purchases_units       BIGINT NOT NULL,
    internal_sales_amount NUMERIC(16, 2) NOT NULL,
    internal_sales_units  BIGINT NOT NULL,
    retail_sales_amount   NUMERIC(16, 2) NOT NULL,
    retail_sales_units    BIGINT NOT NULL,
    PRIMARY KEY (brand_id, month, agent_id),
    FOREIGN KEY (brand_id, month) REFERENCES periods (brand_id, month),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    CHECK (closing_balance = opening_balance + proceeds + differential + peer_bonus + referral_bonus + team_rebate + clawbacks + withdrawals + other)
);

-- The first download of a closed month's export is stored; every later one is these bytes.
CREATE TABLE period_exports (
    brand_id   BIGINT NOT NULL,
    month      TEXT NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('csv', 'xlsx')),
    content    BYTEA NOT NULL,
    sha256     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, month, format),
    FOREIGN KEY (brand_id, month) REFERENCES periods (brand_id, month)
);

CREATE TRIGGER periods_append_only BEFORE UPDATE OR DELETE ON periods FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER statements_append_only BEFORE UPDATE OR DELETE ON statements FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER period_exports_append_only BEFORE UPDATE OR DELETE ON period_exports FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
