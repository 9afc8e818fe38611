-- Recruiting (#14): invite links, public applications approved by the inviter and/or HQ,
-- and the authorization certificates (授权书) anyone can check.

-- Who approves an application, and how long it waits before it expires.
ALTER TABLE brands
    ADD COLUMN application_approval TEXT NOT NULL DEFAULT 'inviter' CHECK (application_approval IN ('inviter', 'hq', 'inviter_then_hq')),
    ADD COLUMN application_days INTEGER NOT NULL DEFAULT 7 CHECK (application_days BETWEEN 1 AND 90);

-- An agent's invite code: global (the public link carries no brand), at most one live per
-- agent; revoking keeps the row (applications name the code they came with).
CREATE TABLE invite_codes (
    code        TEXT PRIMARY KEY CHECK (code ~ '^[a-z0-9]{10}$'),
    brand_id    BIGINT NOT NULL,
    agent_id    BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ,
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id)
);
CREATE UNIQUE INDEX invite_codes_live ON invite_codes (brand_id, agent_id) WHERE revoked_at IS NULL;

-- Applications through a code. `stage` is who decides next; the applicant follows it with a
-- secret kept hashed here (a cookie on the same link).
CREATE TABLE applications (
    brand_id      BIGINT NOT NULL REFERENCES brands (id),
    id            BIGSERIAL,
    code          TEXT NOT NULL REFERENCES invite_codes (code),
    inviter_id    BIGINT NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL,
    wechat        TEXT,
    tier_id       BIGINT NOT NULL,
    password_hash TEXT NOT NULL,
    access_hash   BYTEA NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    stage         TEXT NOT NULL CHECK (stage IN ('inviter', 'hq')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL,
    decided_at    TIMESTAMPTZ,
    decided_by    TEXT,
    reason        TEXT,
    agent_id      BIGINT,
    source        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, inviter_id) REFERENCES agents (brand_id, id),
    FOREIGN KEY (brand_id, tier_id) REFERENCES tiers (brand_id, id),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    CHECK ((status = 'approved') = (agent_id IS NOT NULL)),
    CHECK (status <> 'rejected' OR reason IS NOT NULL)
);
-- one open application per phone and brand
CREATE UNIQUE INDEX applications_one_pending ON applications (brand_id, phone) WHERE status = 'pending';
CREATE INDEX applications_queue ON applications (brand_id, status, stage, id);
CREATE INDEX applications_inviter ON applications (brand_id, inviter_id, status, id);

-- 授权书: one live certificate per active agent, for its current tier; a tier change,
-- suspension or exit revokes it (a new one is issued when the agent is active again).
-- Numbers are random (nothing to enumerate) and global (the public check has no brand).
CREATE TABLE certificates (
    number      TEXT PRIMARY KEY CHECK (number ~ '^[A-Z0-9]{12}$'),
    brand_id    BIGINT NOT NULL,
    agent_id    BIGINT NOT NULL,
    tier_id     BIGINT NOT NULL,
    valid_from  TIMESTAMPTZ NOT NULL,
    valid_until TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    revoked_why TEXT,
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    FOREIGN KEY (brand_id, tier_id) REFERENCES tiers (brand_id, id),
    CHECK (valid_from < valid_until)
);
CREATE UNIQUE INDEX certificates_live ON certificates (brand_id, agent_id) WHERE revoked_at IS NULL;
