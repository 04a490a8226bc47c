-- Up Migration
-- Whop: the referrer's Whop affiliate (minted when the first checkout of one of their referees is
-- created, once), the override that carries our terms per plan, the checkout configurations we
-- created (buyer, edge, code), Whop's webhook events (each once), the memberships that map renewals
-- back to a buyer, what Whop reported per payment (its affiliate fee), the reconciliation's place,
-- and what it could not explain. A payment's rail says who pays its commission: our payout cycles
-- ('ours') or Whop ('whop': mirrored in the ledger on the partner's earnings_whop account, which no
-- payout cycle reads).

CREATE TABLE whop_affiliates (
  user_id uuid PRIMARY KEY REFERENCES users (id),
  affiliate_id text NOT NULL UNIQUE,
  -- The affiliate's Whop username: the code a checkout carries (null: Whop has none, no code).
  code text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE whop_overrides (
  user_id uuid NOT NULL REFERENCES whop_affiliates (user_id),
  plan_id text NOT NULL,
  override_id text NOT NULL UNIQUE,
  commission_percent numeric NOT NULL CHECK (commission_percent > 0 AND commission_percent <= 100),
  applies_to_payments text NOT NULL CHECK (applies_to_payments IN ('first_payment', 'all_payments')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, plan_id)
);

CREATE TABLE whop_checkouts (
  id uuid PRIMARY KEY,
  buyer_id uuid NOT NULL REFERENCES users (id),
  edge_id uuid REFERENCES edges (id),
  plan_id text NOT NULL,
  affiliate_code text,
  -- Why the checkout carries no code (no_edge, edge_held, edge_voided, not_eligible, no_username).
  no_code_reason text,
  whop_checkout_id text UNIQUE,
  purchase_url text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whop_checkouts_buyer_idx ON whop_checkouts (buyer_id);

CREATE TABLE whop_events (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 255),
  type text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE whop_memberships (
  membership_id text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- What Whop said about a payment of ours: its affiliate fee (cents), when the reconciliation asked.
CREATE TABLE whop_payments (
  payment_id text PRIMARY KEY REFERENCES payments (id),
  checkout_configuration_id text,
  membership_id text,
  affiliate_fee_cents bigint,
  seen_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE payments ADD COLUMN rail text NOT NULL DEFAULT 'ours' CHECK (rail IN ('ours', 'whop'));

-- One row per stream the reconciliation pages ('payments', 'refunds'): where it is.
CREATE TABLE whop_reconciliation_cursors (
  stream text PRIMARY KEY,
  after_cursor text,
  since timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- What the reconciliation (or a webhook) saw and could not explain, once per (kind, Whop id).
CREATE TABLE whop_reconciliation_issues (
  kind text NOT NULL,
  whop_id text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, whop_id)
);
