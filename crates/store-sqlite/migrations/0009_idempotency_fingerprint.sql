-- The request an idempotency key was first used for (a digest), so the key sent again
-- with a different request is refused (422) instead of answered with the first result.
-- Keys from before have none and replay as before.

ALTER TABLE idempotency_keys ADD COLUMN fingerprint TEXT;
