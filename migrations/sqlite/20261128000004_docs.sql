-- Images and other files that an API's guides show, imported from its docs folder.
CREATE TABLE api_assets (
    api_id       INTEGER NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    sha256       TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (api_id, path)
);

-- The search index: one row per findable thing (an API, a guide section, an operation, a schema).
-- Rows with a version belong to that version's docs; search shows only each API's shown version.
-- `terms` is the text as Gatehouse normalises it (words split at punctuation and camelCase), so
-- both backends find the same things; `body` is what a snippet is cut from.
CREATE TABLE search_documents (
    id         INTEGER PRIMARY KEY,
    api_id     INTEGER NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    version_id INTEGER REFERENCES api_versions (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('api', 'guide', 'operation', 'schema')),
    title      TEXT NOT NULL,
    link       TEXT NOT NULL,
    body       TEXT NOT NULL,
    terms      TEXT NOT NULL
);
CREATE INDEX search_documents_api_idx ON search_documents (api_id, version_id);

CREATE VIRTUAL TABLE search_fts USING fts5 (
    terms,
    content = 'search_documents',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0',
    -- Searches are words and prefixes, never phrases: no positions to store.
    detail = 'none'
);
CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN
    INSERT INTO search_fts (rowid, terms) VALUES (new.id, new.terms);
END;
CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN
    INSERT INTO search_fts (search_fts, rowid, terms) VALUES ('delete', old.id, old.terms);
END;

CREATE INDEX publish_tokens_team_idx ON publish_tokens (team_id);

-- What changed between two versions' specs, computed when the later one is published.
CREATE TABLE version_diffs (
    from_version_id INTEGER NOT NULL REFERENCES api_versions (id) ON DELETE CASCADE,
    to_version_id   INTEGER NOT NULL REFERENCES api_versions (id) ON DELETE CASCADE,
    diff_json       TEXT NOT NULL,
    computed_at     INTEGER NOT NULL,
    PRIMARY KEY (from_version_id, to_version_id)
);

-- The description as rendered from Markdown and sanitized when it was saved.
ALTER TABLE apis ADD COLUMN description_html TEXT NOT NULL DEFAULT '';

-- Where a version came from: the docs-as-code import prunes only the versions it wrote, never
-- those a team's CI published.
ALTER TABLE api_versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'import' CHECK (origin IN ('import', 'publish'));
