-- A pending change is bound to the content it was asked for: the SHA-256 of the revision a
-- publish serves, or of the content a promote or retire acts on. Approval recomputes it and
-- refuses a change whose content is not what was reviewed. Changes asked for before this
-- migration have none, and approval refuses them: reject and ask again.
ALTER TABLE pending_changes ADD COLUMN content_digest TEXT COLLATE "C";

-- Revisions are append-only: deleting a rule that was never published keeps them, so a rule
-- created again under the same id continues their numbering and no revision number (which a
-- pending change names) ever means two contents.
CREATE TRIGGER rule_revisions_no_delete BEFORE DELETE ON rule_revisions
FOR EACH ROW EXECUTE FUNCTION refuse_change('rule revisions are append-only');
CREATE TRIGGER rule_revisions_no_truncate BEFORE TRUNCATE ON rule_revisions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('rule revisions are append-only');
