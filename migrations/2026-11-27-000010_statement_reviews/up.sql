-- An agent signs off (confirms) or disputes a closed month's statement, once. The statement
-- itself never changes: HQ answers a dispute with a note (and, where money is owed, a
-- correction posted in the open month, recorded here by its entry).
CREATE TABLE statement_reviews (
    brand_id      BIGINT NOT NULL,
    month         TEXT NOT NULL,
    agent_id      BIGINT NOT NULL,
    id            BIGSERIAL NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('confirmed', 'disputed', 'resolved')),
    reason        TEXT,
    reviewed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    note          TEXT,
    resolved_by   TEXT,
    resolved_at   TIMESTAMPTZ,
    entry_id      BIGINT,
    PRIMARY KEY (brand_id, month, agent_id),
    UNIQUE (brand_id, id),
    FOREIGN KEY (brand_id, month, agent_id) REFERENCES statements (brand_id, month, agent_id),
    CHECK ((state = 'disputed') = (reason IS NOT NULL AND note IS NULL) OR state <> 'disputed'),
    CHECK (state <> 'resolved' OR (reason IS NOT NULL AND note IS NOT NULL))
);
CREATE INDEX statement_reviews_state ON statement_reviews (brand_id, state, id);
