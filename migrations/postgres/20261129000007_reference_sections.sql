-- An API's reference in parts: the overview, then one part per tag (and the webhooks and the
-- schemas), each shown as a page of its own, so a large spec's reference is not one page of
-- megabytes. Written with the reference at publish (and filled in at start-up for versions
-- published before); the HTML comes last, so listing the parts for the navigation reads none.
CREATE TABLE reference_sections (
    version_id BIGINT NOT NULL REFERENCES api_versions (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    anchor     TEXT NOT NULL,
    title      TEXT NOT NULL,
    nav_json   TEXT NOT NULL,
    html       TEXT NOT NULL,
    PRIMARY KEY (version_id, position),
    UNIQUE (version_id, anchor)
);
