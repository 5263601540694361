-- When an upload's bytes started to arrive: a claim older than the longest an upload
-- may take was cut off by a crash, and the same URL may claim it again.

ALTER TABLE media ADD COLUMN upload_started_at INTEGER;
