-- Upgrades by rule (#14): per target tier, what an agent must reach over the last N closed
-- months to move up; the brand decides whether qualifying proposes (HQ approves) or applies.

ALTER TABLE brands
    ADD COLUMN upgrade_mode TEXT NOT NULL DEFAULT 'off' CHECK (upgrade_mode IN ('off', 'approval', 'auto'));

-- The rule to reach `tier_id`. Each minimum is optional but at least one is set, and every
-- set minimum is positive (a zero minimum would be met by doing nothing).
CREATE TABLE upgrade_rules (
    brand_id            BIGINT NOT NULL,
    tier_id             BIGINT NOT NULL,
    months              INTEGER NOT NULL CHECK (months BETWEEN 1 AND 12),
    own_purchases_min   NUMERIC(14, 2) CHECK (own_purchases_min > 0),
    direct_recruits_min INTEGER CHECK (direct_recruits_min > 0),
    team_volume_min     NUMERIC(14, 2) CHECK (team_volume_min > 0),
    combine             TEXT NOT NULL CHECK (combine IN ('all', 'any')),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, tier_id),
    FOREIGN KEY (brand_id, tier_id) REFERENCES tiers (brand_id, id),
    CHECK (own_purchases_min IS NOT NULL OR direct_recruits_min IS NOT NULL OR team_volume_min IS NOT NULL)
);

-- An upgrade proposed for an agent: by the month close or by the agent itself. `figures`
-- keeps what it qualified with (the window of months and the three figures), so a decision
-- is always read beside its reasons. `applied` carries the tier event's time.
CREATE TABLE upgrade_proposals (
    brand_id     BIGINT NOT NULL REFERENCES brands (id),
    id           BIGSERIAL,
    agent_id     BIGINT NOT NULL,
    from_tier_id BIGINT NOT NULL,
    to_tier_id   BIGINT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('close', 'agent')),
    figures      JSONB NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'rejected', 'void')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at   TIMESTAMPTZ,
    decided_by   TEXT,
    reason       TEXT,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    FOREIGN KEY (brand_id, from_tier_id) REFERENCES tiers (brand_id, id),
    FOREIGN KEY (brand_id, to_tier_id) REFERENCES tiers (brand_id, id),
    CHECK (from_tier_id <> to_tier_id),
    CHECK (status = 'pending' OR decided_at IS NOT NULL),
    CHECK (status NOT IN ('rejected', 'void') OR reason IS NOT NULL)
);
-- at most one waiting proposal per agent: a second request or close writes nothing new
CREATE UNIQUE INDEX upgrade_proposals_one_pending ON upgrade_proposals (brand_id, agent_id) WHERE status = 'pending';
CREATE INDEX upgrade_proposals_queue ON upgrade_proposals (brand_id, status, id);
CREATE INDEX upgrade_proposals_agent ON upgrade_proposals (brand_id, agent_id, id);
-- direct recruits are counted by sponsor
CREATE INDEX IF NOT EXISTS agents_sponsor ON agents (brand_id, sponsor_id) WHERE sponsor_id IS NOT NULL;
