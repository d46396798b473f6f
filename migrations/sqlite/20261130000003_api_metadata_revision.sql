-- Counts saves of an API's metadata (the edit form, docs import). The edit form sends the count
-- it was loaded at; a save made on a form someone else has since saved over is refused rather
-- than undoing their change (and deleting a scope or environment they had just added).
ALTER TABLE apis ADD COLUMN metadata_revision INTEGER NOT NULL DEFAULT 0;
