-- Up Migration
-- The holes in today's rewards, closed (issue 14): the ladder takes back what a void (or a hold)
-- took away, a person redeems one invite, late attribution is an admin's recorded decision, a
-- chargeback is told from a refund, and a beta-seeded commission can be forfeited at its gate.

-- A rung's grant can be revoked (the recount fell below it): its credits reversed through the
-- ledger (what was left of them; the shortfall kept here), its entitlements revoked. Reached again,
-- the rung is granted again as its next grant (grant_no), so each grant has keys of its own. At most
-- one grant of a rung is live at a time.
ALTER TABLE milestone_grants
  ADD COLUMN grant_no integer NOT NULL DEFAULT 1 CHECK (grant_no >= 1),
  ADD COLUMN revoked_at timestamptz,
  ADD COLUMN revoke_reason text,
  ADD COLUMN credits_reversed bigint CHECK (credits_reversed >= 0),
  ADD COLUMN credits_shortfall bigint CHECK (credits_shortfall >= 0),
  ADD CONSTRAINT milestone_grants_revoked_check CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL));
ALTER TABLE milestone_grants DROP CONSTRAINT milestone_grants_pkey;
ALTER TABLE milestone_grants ADD PRIMARY KEY (user_id, rung, grant_no);
CREATE UNIQUE INDEX milestone_grants_live ON milestone_grants (user_id, rung) WHERE revoked_at IS NULL;

-- A revoked entitlement ends when it is revoked, or never starts if it was waiting for activation.
ALTER TABLE entitlements ADD COLUMN revoked_at timestamptz;

-- Tracking is for signup: later, an attempt is recorded as window_closed and an admin attributes,
-- recorded with who (decided_by) and why (reason).
ALTER TABLE attribution_events DROP CONSTRAINT attribution_events_outcome_check;
ALTER TABLE attribution_events
  ADD CONSTRAINT attribution_events_outcome_check
    CHECK (outcome IN ('edge_written', 'already_attributed', 'self_referral', 'window_closed')),
  ADD COLUMN decided_by text,
  ADD COLUMN reason text,
  ADD CONSTRAINT attribution_events_decision_check CHECK ((decided_by IS NULL) = (reason IS NULL));

-- A person redeems at most one invite (partner invites aside: they set up a tenant, once). Each
-- redemption names its redeemer here, unique; a user who redeemed several codes before this
-- migration keeps them, and their first redemption is the one named, so they redeem no more.
ALTER TABLE invite_redemptions ADD COLUMN redeemer_id uuid REFERENCES users (id);
UPDATE invite_redemptions r SET redeemer_id = r.user_id
FROM (
  SELECT DISTINCT ON (x.user_id) x.id FROM invite_redemptions x JOIN invite_codes c ON c.id = x.code_id
  WHERE c.flavor <> 'partner' ORDER BY x.user_id, x.created_at, x.id
) first
WHERE r.id = first.id;
CREATE UNIQUE INDEX invite_redemptions_one_per_user ON invite_redemptions (redeemer_id);

-- A chargeback (a dispute the payer won) is reported as a refund that says so: both take back
-- commission; the retention gate names which one forfeited a beta-seeded commission.
ALTER TABLE refunds ADD COLUMN chargeback boolean NOT NULL DEFAULT false;
