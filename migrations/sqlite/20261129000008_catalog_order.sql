-- The catalog lists APIs by name a page at a time: with this index a page is read in order and
-- the reading stops at the page's end, instead of sorting every API for each page.
CREATE INDEX apis_name_idx ON apis (lower(name), id);
