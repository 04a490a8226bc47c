-- Up Migration
-- Issue 17: a signup whose answer was lost. A signup called with an Idempotency-Key records a digest
-- of the key, its scope and the request (api/route.ts) on the user row, in the signup's own
-- statement. When the answer was lost after the commit (the connection cut before it was stored), the
-- retry with the same key and body meets the email taken: the matching digest lets it answer the
-- stored user as a replay would (services/signups.ts) instead of 409 `email_taken`. Null for signups
-- without a key (and every user before this).
ALTER TABLE users ADD COLUMN signup_key text;
