-- Periodic jobs that must run once per period however many servers share the database (pruning
-- host history, forgetting hosts): a server runs a pass only after claiming its period here, in a
-- write transaction (serialized by the writers' advisory lock), so of the replicas that wake in
-- one period only the first runs it.
CREATE TABLE job_runs (
    job        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL
);
