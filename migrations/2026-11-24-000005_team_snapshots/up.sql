-- Downline summaries of big teams (GET /agents/{id}/downline/summary) are served from a
-- snapshot plus whatever was committed since, so a 100,000-agent team costs a few index
-- probes instead of two scans of 100,000 index entries. Nothing on the order path
-- updates a shared row: "since" is decided by transaction ids, not by counters.
--
-- Every row that can change a team's figures records the transaction that wrote it.
-- A snapshot keeps the pg_snapshot its figures were computed in; the rows it did not see
-- are exactly those whose writer is at or above its xmax or in its in-flight list (xip).
ALTER TABLE agents ADD COLUMN created_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE orders ADD COLUMN created_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE refunds ADD COLUMN created_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX agents_created_xid ON agents (brand_id, created_xid);
CREATE INDEX orders_created_xid ON orders (brand_id, created_xid) WHERE kind = 'purchase';
CREATE INDEX refunds_created_xid ON refunds (brand_id, created_xid);

-- Moves and tier changes reshape teams in ways a delta cannot express; they bump the
-- brand's tree version and every snapshot taken under an older version is ignored.
-- A trigger, so that no code path (or hand-run SQL) can reshape the tree unnoticed.
-- Only moves and tier changes write here, never orders: this row is not hot.
CREATE TABLE tree_versions (
    brand_id BIGINT PRIMARY KEY REFERENCES brands (id),
    version  BIGINT NOT NULL
);

CREATE FUNCTION bump_tree_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tree_versions (brand_id, version)
    SELECT DISTINCT n.brand_id, 1
      FROM new_rows n JOIN old_rows o ON o.brand_id = n.brand_id AND o.id = n.id
     WHERE n.path IS DISTINCT FROM o.path OR n.tier_id IS DISTINCT FROM o.tier_id
    ON CONFLICT (brand_id) DO UPDATE SET version = tree_versions.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER agents_tree_version AFTER UPDATE ON agents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bump_tree_version();

-- A cache, not a record: rows are replaced when refreshed and may be deleted at will.
CREATE TABLE team_snapshots (
    brand_id     BIGINT NOT NULL,
    agent_id     BIGINT NOT NULL,
    month        TEXT NOT NULL,
    snap         pg_snapshot NOT NULL,
    tree_version BIGINT NOT NULL,
    taken_at     TIMESTAMPTZ NOT NULL,
    -- the downline by (tier_ids[i], depths[i]) → counts[i]; depth relative to agent_id
    tier_ids     BIGINT[] NOT NULL,
    depths       INTEGER[] NOT NULL,
    counts       BIGINT[] NOT NULL,
    team_units   BIGINT NOT NULL,
    team_amount  NUMERIC(16, 2) NOT NULL,
    PRIMARY KEY (brand_id, agent_id, month),
    FOREIGN KEY (brand_id, agent_id) REFERENCES agents (brand_id, id),
    CHECK (cardinality(tier_ids) = cardinality(depths) AND cardinality(depths) = cardinality(counts))
);
