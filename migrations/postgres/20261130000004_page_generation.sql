-- The page cache's generation (see src/server/page_cache.rs): a number that every committed
-- change to what a page can show moves on. A cached page is answered again only while the
-- number is the one read before it was rendered, so no replica answers a page older than a
-- change committed before the request came (whichever replica or process made it).
--
-- Left out, because pages never show them and they change all the time: the audit chain
-- (written beside every change, which moves the number through its other table), key rows
-- and their usage (the verifier's hot path), webhook deliveries, sign-in attempts and
-- states, the search index (rewritten with the docs it indexes), and sessions except their
-- deletion (a new session or its once-a-minute `last_seen_at` shows on no cached page).
-- tests/page_cache.rs checks every table is here or in that list.
CREATE TABLE page_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO page_generation (id, n) VALUES (1, 0);

-- Moved once per transaction, at its commit (a deferred trigger), so the row's lock is taken
-- last: a transaction holding it is committing and waits for nothing else, so no lock order
-- with the audit chain's head can deadlock.
CREATE FUNCTION gatehouse_pages_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gatehouse.pages_changed', true) IS DISTINCT FROM '1' THEN
        PERFORM set_config('gatehouse.pages_changed', '1', true);
        UPDATE page_generation SET n = n + 1 WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON people
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON platform_admins
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON teams
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON team_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON apis
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON api_tags
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON api_assets
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON environments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON scopes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON api_versions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON guides
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON rendered_artifacts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON reference_sections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON version_diffs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON policies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON settings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON access_requests
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON access_request_scopes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON approval_steps
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON approval_delegations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON request_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON grants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON grant_scopes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON notifications
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON contractor_invitations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON publish_tokens
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON team_webhooks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON gateway_credentials
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
CREATE CONSTRAINT TRIGGER pages_changed AFTER DELETE ON sessions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gatehouse_pages_changed();
