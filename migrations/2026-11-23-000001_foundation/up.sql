-- Foundation: brands, HQ users, tiers, products, the agent tree, sessions, idempotency.
-- Every table but `brands` carries brand_id, and every key and foreign key includes it,
-- so the schema can be distributed by brand_id (Citus) unchanged.

CREATE TABLE brands (
    id                BIGSERIAL PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_-]{1,40}$'),
    name              TEXT NOT NULL,
    supply_mode       TEXT NOT NULL DEFAULT 'hq' CHECK (supply_mode IN ('hq', 'upline')),
    timezone          TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    hq_stock_tracking BOOLEAN NOT NULL DEFAULT false,
    buyback_ratio     NUMERIC(5, 4) NOT NULL DEFAULT 0.90 CHECK (buyback_ratio BETWEEN 0 AND 1),
    hold_days         INTEGER NOT NULL DEFAULT 7 CHECK (hold_days BETWEEN 0 AND 365),
    jurisdiction      TEXT NOT NULL DEFAULT 'none' CHECK (jurisdiction IN ('none', 'cn_direct_selling', 'us_ftc')),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE hq_users (
    brand_id      BIGINT NOT NULL REFERENCES brands (id),
    id            BIGSERIAL,
    login         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    UNIQUE (brand_id, login)
);

CREATE TABLE tiers (
    brand_id        BIGINT NOT NULL REFERENCES brands (id),
    id              BIGSERIAL,
    rank            INTEGER NOT NULL CHECK (rank >= 1),
    name            TEXT NOT NULL,
    min_first_order NUMERIC(14, 2) CHECK (min_first_order >= 0),
    PRIMARY KEY (brand_id, id),
    UNIQUE (brand_id, rank)
);

CREATE TABLE products (
    brand_id     BIGINT NOT NULL REFERENCES brands (id),
    sku          TEXT NOT NULL CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
    name         TEXT NOT NULL,
    retail_price NUMERIC(14, 2) NOT NULL CHECK (retail_price >= 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, sku)
);

CREATE TABLE product_prices (
    brand_id BIGINT NOT NULL,
    sku      TEXT NOT NULL,
    tier_id  BIGINT NOT NULL,
    price    NUMERIC(14, 2) NOT NULL CHECK (price >= 0),
    PRIMARY KEY (brand_id, sku, tier_id),
    FOREIGN KEY (brand_id, sku) REFERENCES products (brand_id, sku) ON DELETE CASCADE,
    FOREIGN KEY (brand_id, tier_id) REFERENCES tiers (brand_id, id)
);

-- The agent tree. `parent_id` is the truth; `path` is the materialised chain of ids from
-- the top-level ancestor down to the agent itself. The btree on (brand_id, path) makes a
-- subtree one contiguous index range (see docs/architecture.md), and path minus its last
-- element is the upline chain that commissions walk.
CREATE TABLE agents (
    brand_id      BIGINT NOT NULL REFERENCES brands (id),
    id            BIGSERIAL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL,
    tier_id       BIGINT NOT NULL,
    parent_id     BIGINT,
    sponsor_id    BIGINT,
    path          BIGINT[] NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'exited')),
    password_hash TEXT NOT NULL,
    joined_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    UNIQUE (brand_id, phone),
    FOREIGN KEY (brand_id, tier_id) REFERENCES tiers (brand_id, id),
    FOREIGN KEY (brand_id, parent_id) REFERENCES agents (brand_id, id),
    FOREIGN KEY (brand_id, sponsor_id) REFERENCES agents (brand_id, id),
    CHECK (path[cardinality(path)] = id),
    CHECK ((parent_id IS NULL) = (cardinality(path) = 1)),
    CHECK (parent_id IS NULL OR path[cardinality(path) - 1] = parent_id)
);
-- INCLUDE (tier_id): downline counts by tier are an index-only scan.
CREATE INDEX agents_subtree ON agents (brand_id, path) INCLUDE (tier_id);
CREATE INDEX agents_children ON agents (brand_id, parent_id, id);

-- Every change of parent, tier or status, dated. Insert-only.
CREATE TABLE agent_events (
    brand_id  BIGINT NOT NULL,
    id        BIGSERIAL,
    agent_id  BIGINT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('joined', 'moved', 'tier_changed', 'status_changed')),
    old_value TEXT,
    new_value TEXT,
    actor     TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id)
);
CREATE INDEX agent_events_agent ON agent_events (brand_id, agent_id, at);

-- Bearer tokens: the token is "<brand_id>.<secret>"; only sha256(secret) is stored.
CREATE TABLE sessions (
    brand_id   BIGINT NOT NULL REFERENCES brands (id),
    token_hash BYTEA NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('hq', 'agent')),
    hq_user_id BIGINT,
    agent_id   BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (brand_id, token_hash),
    FOREIGN KEY (brand_id, hq_user_id) REFERENCES hq_users (brand_id, id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    CHECK ((role = 'hq') = (hq_user_id IS NOT NULL) AND (role = 'agent') = (agent_id IS NOT NULL))
);

-- Failed logins per (brand, login) in a sliding window; too many answer 429.
CREATE TABLE login_failures (
    brand_id     BIGINT NOT NULL REFERENCES brands (id),
    login        TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (brand_id, login)
);

-- Idempotency-Key: the first response of every creating write, keyed per caller.
CREATE TABLE idempotency_keys (
    brand_id      BIGINT NOT NULL REFERENCES brands (id),
    principal     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  BYTEA NOT NULL,
    status_code   INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, principal, key)
);
