-- Servers sharing a PostgreSQL database hear each move of the serial as it commits (NOTIFY on the
-- channel `ocs_serial`). SQLite has no channel between processes: a server on it reads the
-- serial every 50 ms instead, so this migration changes nothing here. It keeps the ids of both
-- engines' migrations the same.
SELECT 1;
