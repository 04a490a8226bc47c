-- Up Migration
-- The program's phase is one fact: whatever prices a payment reads it here.
CREATE TABLE program (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  phase text NOT NULL DEFAULT 'beta' CHECK (phase IN ('beta', 'public')),
  phase_changed_at timestamptz
);
INSERT INTO program DEFAULT VALUES;

CREATE TABLE tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  tier text NOT NULL DEFAULT 'free',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  email text NOT NULL UNIQUE CHECK (email = lower(email)),
  inbox text NOT NULL,
  referral_code text NOT NULL UNIQUE,
  status text NOT NULL DEFAULT 'waitlisted' CHECK (status IN ('waitlisted', 'active')),
  activated_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_inbox_idx ON users (inbox);
CREATE INDEX users_tenant_idx ON users (tenant_id);

-- One edge per referee, enforced here; first touch wins and the row is never updated but for
-- the progress stamps its workflow records.
CREATE TABLE edges (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  referrer_id uuid NOT NULL REFERENCES users (id),
  referee_id uuid NOT NULL UNIQUE REFERENCES users (id),
  source text NOT NULL CHECK (source IN ('link', 'invite_code', 'listing', 'partner_code')),
  kind text NOT NULL CHECK (kind IN ('beta_auto', 'intentional')),
  phase_at_write text NOT NULL CHECK (phase_at_write IN ('beta', 'public')),
  code text,
  created_at timestamptz NOT NULL DEFAULT now(),
  vested_at timestamptz,
  expired_at timestamptz,
  CHECK (referrer_id <> referee_id)
);
CREATE INDEX edges_referrer_idx ON edges (referrer_id, created_at);

-- Transactional outbox of workflows to start: written in the same transaction as the row the
-- workflow is about, started by the relay in the worker. A row is claimed with a lease, so a relay
-- that dies mid-start leaves it to the next one; starting twice is harmless (workflow ids are
-- business ids).
CREATE TABLE workflow_outbox (
  id bigserial PRIMARY KEY,
  workflow_id text NOT NULL UNIQUE,
  workflow_type text NOT NULL,
  args jsonb NOT NULL,
  search_attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  claimed_until timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  started_at timestamptz
);
CREATE INDEX workflow_outbox_pending_idx ON workflow_outbox (id) WHERE started_at IS NULL;

CREATE FUNCTION workflow_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('workflow_outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER workflow_outbox_notify AFTER INSERT ON workflow_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION workflow_outbox_notify();
