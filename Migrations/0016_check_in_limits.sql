-- The address a host first polled from, never changed afterwards: new hosts per source address
-- are rate-limited on it (CheckInLimits), so one client cannot add hosts without bound.
-- Existing hosts take their last address.
ALTER TABLE hosts ADD COLUMN first_address TEXT;
UPDATE hosts SET first_address = remote_address;
CREATE INDEX hosts_by_first_address ON hosts (first_address, first_seen);
