-- hosts_by_build (build) is the leading column of hosts_by_coverage_facts (build, applied, ...),
-- which answers every lookup by build as well. Keeping both only cost each new host one more
-- index entry to write.
DROP INDEX hosts_by_build;
