-- A publish allowed to narrow (`--narrow`) stops serving a rule to hosts that had it applied, and
-- their agents remove it. Which hosts, when, at which revision and why are kept, so that those
-- hosts stay visible as such and are not lost among the hosts the rule never applied to.
CREATE TABLE rule_narrowings (
    rule_id     TEXT NOT NULL,
    host_id     INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    narrowed_at TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    reason      TEXT,
    PRIMARY KEY (rule_id, host_id)
);
CREATE INDEX rule_narrowings_by_host ON rule_narrowings (host_id);
