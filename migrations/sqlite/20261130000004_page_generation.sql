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
CREATE TRIGGER pages_people_i AFTER INSERT ON people BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_people_u AFTER UPDATE ON people BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_people_d AFTER DELETE ON people BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_platform_admins_i AFTER INSERT ON platform_admins BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_platform_admins_u AFTER UPDATE ON platform_admins BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_platform_admins_d AFTER DELETE ON platform_admins BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_teams_i AFTER INSERT ON teams BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_teams_u AFTER UPDATE ON teams BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_teams_d AFTER DELETE ON teams BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_team_members_i AFTER INSERT ON team_members BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_team_members_u AFTER UPDATE ON team_members BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_team_members_d AFTER DELETE ON team_members BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_apis_i AFTER INSERT ON apis BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_apis_u AFTER UPDATE ON apis BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_apis_d AFTER DELETE ON apis BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_tags_i AFTER INSERT ON api_tags BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_tags_u AFTER UPDATE ON api_tags BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_tags_d AFTER DELETE ON api_tags BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_assets_i AFTER INSERT ON api_assets BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_assets_u AFTER UPDATE ON api_assets BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_assets_d AFTER DELETE ON api_assets BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_environments_i AFTER INSERT ON environments BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_environments_u AFTER UPDATE ON environments BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_environments_d AFTER DELETE ON environments BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_scopes_i AFTER INSERT ON scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_scopes_u AFTER UPDATE ON scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_scopes_d AFTER DELETE ON scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_versions_i AFTER INSERT ON api_versions BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_versions_u AFTER UPDATE ON api_versions BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_api_versions_d AFTER DELETE ON api_versions BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_guides_i AFTER INSERT ON guides BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_guides_u AFTER UPDATE ON guides BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_guides_d AFTER DELETE ON guides BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_rendered_artifacts_i AFTER INSERT ON rendered_artifacts BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_rendered_artifacts_u AFTER UPDATE ON rendered_artifacts BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_rendered_artifacts_d AFTER DELETE ON rendered_artifacts BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_reference_sections_i AFTER INSERT ON reference_sections BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_reference_sections_u AFTER UPDATE ON reference_sections BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_reference_sections_d AFTER DELETE ON reference_sections BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_version_diffs_i AFTER INSERT ON version_diffs BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_version_diffs_u AFTER UPDATE ON version_diffs BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_version_diffs_d AFTER DELETE ON version_diffs BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_policies_i AFTER INSERT ON policies BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_policies_u AFTER UPDATE ON policies BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_policies_d AFTER DELETE ON policies BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_settings_i AFTER INSERT ON settings BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_settings_u AFTER UPDATE ON settings BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_settings_d AFTER DELETE ON settings BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_access_requests_i AFTER INSERT ON access_requests BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_access_requests_u AFTER UPDATE ON access_requests BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_access_requests_d AFTER DELETE ON access_requests BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_access_request_scopes_i AFTER INSERT ON access_request_scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_access_request_scopes_u AFTER UPDATE ON access_request_scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_access_request_scopes_d AFTER DELETE ON access_request_scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_approval_steps_i AFTER INSERT ON approval_steps BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_approval_steps_u AFTER UPDATE ON approval_steps BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_approval_steps_d AFTER DELETE ON approval_steps BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_approval_delegations_i AFTER INSERT ON approval_delegations BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_approval_delegations_u AFTER UPDATE ON approval_delegations BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_approval_delegations_d AFTER DELETE ON approval_delegations BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_request_events_i AFTER INSERT ON request_events BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_request_events_u AFTER UPDATE ON request_events BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_request_events_d AFTER DELETE ON request_events BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_grants_i AFTER INSERT ON grants BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_grants_u AFTER UPDATE ON grants BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_grants_d AFTER DELETE ON grants BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_grant_scopes_i AFTER INSERT ON grant_scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_grant_scopes_u AFTER UPDATE ON grant_scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_grant_scopes_d AFTER DELETE ON grant_scopes BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_notifications_i AFTER INSERT ON notifications BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_notifications_u AFTER UPDATE ON notifications BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_notifications_d AFTER DELETE ON notifications BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_contractor_invitations_i AFTER INSERT ON contractor_invitations BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_contractor_invitations_u AFTER UPDATE ON contractor_invitations BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_contractor_invitations_d AFTER DELETE ON contractor_invitations BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_publish_tokens_i AFTER INSERT ON publish_tokens BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_publish_tokens_u AFTER UPDATE ON publish_tokens BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_publish_tokens_d AFTER DELETE ON publish_tokens BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_team_webhooks_i AFTER INSERT ON team_webhooks BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_team_webhooks_u AFTER UPDATE ON team_webhooks BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_team_webhooks_d AFTER DELETE ON team_webhooks BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_gateway_credentials_i AFTER INSERT ON gateway_credentials BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_gateway_credentials_u AFTER UPDATE ON gateway_credentials BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_gateway_credentials_d AFTER DELETE ON gateway_credentials BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER pages_sessions_d AFTER DELETE ON sessions BEGIN UPDATE page_generation SET n = n + 1 WHERE id = 1; END;
