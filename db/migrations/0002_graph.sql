-- Up Migration
-- The attribution graph around the edge: tenants that can become partners, invite codes and their
-- redemptions, partner settings with approval, attribution attempts, idempotent requests, the
-- mail outbox, and the double-entry ledger credits and commissions are paid through.

ALTER TABLE tenants
  ADD COLUMN type text NOT NULL DEFAULT 'standard' CHECK (type IN ('standard', 'partner')),
  ADD COLUMN owner_user_id uuid,
  ADD COLUMN referral_earning_enabled boolean NOT NULL DEFAULT false,
  ADD COLUMN referral_commission_bps integer CHECK (referral_commission_bps BETWEEN 0 AND 10000),
  -- null: no cap (a partner runs agency sub-accounts)
  ADD COLUMN sub_account_cap integer DEFAULT 3 CHECK (sub_account_cap >= 0);
UPDATE tenants t SET owner_user_id = (SELECT u.id FROM users u WHERE u.tenant_id = t.id ORDER BY u.created_at LIMIT 1);

CREATE TABLE partners (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
  sales_commission_bps integer NOT NULL CHECK (sales_commission_bps BETWEEN 0 AND 10000),
  credit_commission_bps integer NOT NULL CHECK (credit_commission_bps BETWEEN 0 AND 10000),
  recurring boolean NOT NULL,
  recurring_months integer NOT NULL CHECK (recurring_months BETWEEN 1 AND 120),
  referral_code text NOT NULL UNIQUE,
  payout_method text NOT NULL CHECK (payout_method IN ('stripe', 'paypal', 'bank_transfer', 'manual')),
  payout_threshold_cents bigint NOT NULL CHECK (payout_threshold_cents >= 0),
  payout_frequency text NOT NULL CHECK (payout_frequency IN ('weekly', 'biweekly', 'monthly', 'quarterly')),
  stripe_account_id text,
  stripe_account_status text NOT NULL DEFAULT 'none' CHECK (stripe_account_status IN ('none', 'pending', 'enabled', 'restricted', 'disabled')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
  approved boolean NOT NULL DEFAULT false,
  approved_by text,
  approved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (approved = (approved_at IS NOT NULL))
);

CREATE TABLE invite_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code text NOT NULL UNIQUE,
  flavor text NOT NULL CHECK (flavor IN ('beta', 'free', 'og', 'partner')),
  -- The referrer a redemption's edge points to (a personal code's owner); null for house codes.
  owner_user_id uuid REFERENCES users (id),
  max_uses integer NOT NULL CHECK (max_uses >= 1),
  uses integer NOT NULL DEFAULT 0,
  credits bigint NOT NULL CHECK (credits >= 0),
  expires_at timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (uses BETWEEN 0 AND max_uses)
);
CREATE INDEX invite_codes_owner_idx ON invite_codes (owner_user_id);

CREATE TABLE invite_redemptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code_id uuid NOT NULL REFERENCES invite_codes (id),
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (code_id, user_id)
);

-- Every attempt to attribute a referee, including those that wrote no edge.
CREATE TABLE attribution_events (
  id bigserial PRIMARY KEY,
  referee_id uuid NOT NULL REFERENCES users (id),
  referrer_id uuid REFERENCES users (id),
  source text NOT NULL,
  code text,
  outcome text NOT NULL CHECK (outcome IN ('edge_written', 'already_attributed', 'self_referral')),
  edge_id uuid REFERENCES edges (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attribution_events_referee_idx ON attribution_events (referee_id);

CREATE TABLE idempotency_keys (
  scope text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  status integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);

CREATE TABLE mail_outbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dedupe_key text NOT NULL UNIQUE,
  to_address text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  claimed_until timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  sent_at timestamptz
);
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (created_at) WHERE sent_at IS NULL;

-- Double-entry ledger. Entries are never updated or deleted. User and tenant accounts keep a
-- running balance, maintained in the same statement that writes the entries and always equal to
-- their sum. Platform accounts (the other side of nearly every transaction) keep none: locking one
-- hot row per transaction would serialise the whole ledger; their balance is the sum of entries.
CREATE TABLE ledger_accounts (
  id bigserial PRIMARY KEY,
  owner_type text NOT NULL CHECK (owner_type IN ('user', 'tenant', 'platform')),
  owner_id text NOT NULL,
  purpose text NOT NULL,
  currency text NOT NULL CHECK (currency IN ('USD', 'CREDIT')),
  balance bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_type, owner_id, purpose, currency),
  CHECK ((balance IS NULL) = (owner_type = 'platform'))
);

CREATE TABLE ledger_transactions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  idempotency_key text NOT NULL UNIQUE,
  kind text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_entries (
  id bigserial PRIMARY KEY,
  transaction_id uuid NOT NULL REFERENCES ledger_transactions (id),
  account_id bigint NOT NULL REFERENCES ledger_accounts (id),
  amount bigint NOT NULL CHECK (amount <> 0),
  currency text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id) INCLUDE (amount);

-- Every account's balance: the running one, or for platform accounts the sum of their entries.
CREATE VIEW ledger_balances AS
SELECT a.id, a.owner_type, a.owner_id, a.purpose, a.currency,
       coalesce(a.balance, (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.account_id = a.id))::bigint AS balance
FROM ledger_accounts a;
CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);

CREATE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger rows are immutable: post a reversing transaction instead';
END $$;
CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();

-- Transactions are posted by ledger_post_batch (0003_ledger_batches.sql), one or many per call.
