-- Up Migration
-- Rate-limit counters every API process shares: one row per bucket (a client address and route
-- group, a user, an API key) holding this minute's hits and the last minute's, from which the
-- limiter estimates a sliding minute. UNLOGGED: a counter is worth no WAL write or fsync, and after
-- a crash PostgreSQL empties the table, which only forgives the current minute. Rows idle for a few
-- minutes are deleted by the API processes themselves (rate_limits_window_idx).
CREATE UNLOGGED TABLE rate_limits (
  bucket text PRIMARY KEY CHECK (length(bucket) <= 300),
  window_start timestamptz NOT NULL,
  hits integer NOT NULL,
  previous_hits integer NOT NULL DEFAULT 0
);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);

-- Session tokens signed out before they expire, by token id (the JWT's jti). Every request with a
-- user token looks its id up here; a row is kept until the token would have expired anyway.
CREATE TABLE revoked_sessions (
  jti uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_sessions_expiry_idx ON revoked_sessions (expires_at);

-- A mail the sender gave up on (MAIL_MAX_ATTEMPTS reached, or refused for good by the SMTP server)
-- keeps its row, with the last error, and leaves the pending set.
ALTER TABLE mail_outbox ADD COLUMN failed_at timestamptz;
DROP INDEX mail_outbox_pending_idx;
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (created_at) WHERE sent_at IS NULL AND failed_at IS NULL;
