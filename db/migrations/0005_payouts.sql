-- Up Migration
-- Payout cycles and payouts. A payout is one partner's payment for one period of its payout
-- frequency, so its id (<tenantId>:<period>) is the business key of everything it does: the Stripe
-- transfer's idempotency key, the ledger transaction that moves payable -> paid. A partner is paid
-- at most once per period, whatever cycles run.

CREATE TABLE payout_cycles (
  id text PRIMARY KEY,
  -- The frequencies this cycle pays (a scheduled cycle: one; a manual one: all that are due).
  frequencies text[] NOT NULL,
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  requested_by text NOT NULL,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed')),
  partners_seen integer NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
-- At most one cycle runs at a time: a second trigger meanwhile finds the first.
CREATE UNIQUE INDEX payout_cycles_one_running ON payout_cycles ((true)) WHERE status = 'running';

CREATE TABLE payouts (
  id text PRIMARY KEY,
  cycle_id text NOT NULL REFERENCES payout_cycles (id),
  tenant_id uuid NOT NULL REFERENCES partners (tenant_id),
  period text NOT NULL,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  method text NOT NULL CHECK (method IN ('stripe', 'paypal', 'bank_transfer', 'manual')),
  -- processing: money not yet sent; awaiting_manual: finance pays it by hand and marks it paid;
  -- paid: the ledger moved it payable -> paid; failed: nothing was sent, the balance stays payable.
  status text NOT NULL CHECK (status IN ('processing', 'awaiting_manual', 'paid', 'failed')),
  stripe_account_id text,
  stripe_account_status text,
  stripe_transfer_id text UNIQUE,
  reference text,
  failure_code text,
  failure_message text,
  marked_paid_by text,
  paid_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, period)
);
CREATE INDEX payouts_cycle_idx ON payouts (cycle_id);
CREATE INDEX payouts_open_idx ON payouts (tenant_id) WHERE status IN ('processing', 'awaiting_manual');

-- What a cycle decided for each partner it looked at: paid (or awaiting a manual payment), rolled
-- forward (below threshold, nothing payable, negative balance), skipped (not due, rail cannot
-- receive) or failed, with the reason.
CREATE TABLE payout_cycle_items (
  cycle_id text NOT NULL REFERENCES payout_cycles (id),
  tenant_id uuid NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('paid', 'awaiting_manual', 'rolled_forward', 'skipped', 'failed')),
  reason text,
  amount_cents bigint NOT NULL,
  payout_id text REFERENCES payouts (id),
  PRIMARY KEY (cycle_id, tenant_id)
);

-- Stripe webhook events, each handled once.
CREATE TABLE stripe_events (
  id text PRIMARY KEY,
  type text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX partners_payable_idx ON partners (tenant_id) WHERE approved AND status = 'active';
