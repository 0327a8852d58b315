-- Periodic jobs that must run once per period however many servers share the database (pruning
-- host history, forgetting hosts): a server runs a pass only after claiming its period here, in a
-- write transaction, so of the servers that wake in one period only the first runs it.
CREATE TABLE job_runs (
    job        TEXT PRIMARY KEY NOT NULL,
    started_at TEXT NOT NULL
);
