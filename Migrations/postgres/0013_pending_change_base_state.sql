-- What the rule looked like when a change was asked for: its state, served revision and release.
-- Approval is refused when any of them has moved since (another change applied in between), not
-- only its latest revision: otherwise an old request could undo a newer approved one.
ALTER TABLE pending_changes ADD COLUMN base_state TEXT COLLATE "C";
