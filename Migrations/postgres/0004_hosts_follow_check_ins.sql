-- Each host's latest state follows from its check-ins: a trigger keeps `hosts` current as
-- check-ins are inserted, so one statement records a poll and nothing can update one without
-- the other. A host that omits a fact in a poll keeps the one it reported before.
CREATE FUNCTION check_ins_update_host() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    INSERT INTO hosts AS h (host_key, server_id, server_name, build, org_id, applied, blocked,
        mitigations_enabled, data_collection_enabled, remote_address, user_agent,
        last_seen, first_seen, poll_count)
    VALUES (NEW.host_key, NEW.server_id, NEW.server_name, NEW.build, NEW.org_id, NEW.applied, NEW.blocked,
        NEW.mitigations_enabled, NEW.data_collection_enabled, NEW.remote_address, NEW.user_agent,
        NEW.checked_in_at, NEW.checked_in_at, 1)
    ON CONFLICT (host_key) DO UPDATE SET
        server_id = coalesce(excluded.server_id, h.server_id),
        server_name = coalesce(excluded.server_name, h.server_name),
        build = coalesce(excluded.build, h.build),
        org_id = coalesce(excluded.org_id, h.org_id),
        applied = excluded.applied,
        blocked = excluded.blocked,
        mitigations_enabled = coalesce(excluded.mitigations_enabled, h.mitigations_enabled),
        data_collection_enabled = coalesce(excluded.data_collection_enabled, h.data_collection_enabled),
        remote_address = excluded.remote_address,
        user_agent = excluded.user_agent,
        last_seen = GREATEST(h.last_seen, excluded.last_seen),
        poll_count = h.poll_count + 1;
    RETURN NULL;
END
$function$;

CREATE TRIGGER check_ins_update_host AFTER INSERT ON check_ins
FOR EACH ROW EXECUTE FUNCTION check_ins_update_host();
