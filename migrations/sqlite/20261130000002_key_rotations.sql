-- How many times each key's secret was rotated. A rotation names the count it was asked on, so a
-- second click (or a second tab) does not rotate again: rotating twice would leave the previous
-- secret slot holding a secret nobody deployed and cut off the one in use at once.
ALTER TABLE api_keys ADD COLUMN rotations INTEGER NOT NULL DEFAULT 0;
