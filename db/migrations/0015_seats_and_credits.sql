-- Up Migration
-- Invite = a seat, credits both ways, credits people can use (issue 16, items 1 to 3).
--
-- A beta or OG invite redeemed in beta admits a waitlisted invitee at once: the user is active,
-- admitted_via = 'invite' with the code (outside any wave's cap), and invite_seats records the seat
-- and whose allowance it used (a personal code's owner; null for an admin's code, which admits
-- regardless). A personal code made when its owner's allowance was spent grants credits but no seat
-- (invite_codes.grants_seat false).
ALTER TABLE invite_codes ADD COLUMN grants_seat boolean NOT NULL DEFAULT true;

ALTER TABLE users
  ADD COLUMN admitted_via text CHECK (admitted_via IN ('wave', 'invite', 'launch')),
  ADD COLUMN admitted_code_id uuid REFERENCES invite_codes (id),
  -- The head start an invitee got with their invite or referral link (waitlist points), and the edge
  -- it came with (a fraud void of that edge takes it back); part of waitlist_score.
  ADD COLUMN head_start integer NOT NULL DEFAULT 0 CHECK (head_start >= 0),
  ADD COLUMN head_start_edge_id uuid REFERENCES edges (id),
  ADD CONSTRAINT users_admitted_code_check CHECK ((admitted_via = 'invite') = (admitted_code_id IS NOT NULL));

CREATE TABLE invite_seats (
  user_id uuid PRIMARY KEY REFERENCES users (id),
  code_id uuid NOT NULL REFERENCES invite_codes (id),
  redemption_id uuid NOT NULL UNIQUE REFERENCES invite_redemptions (id),
  -- Whose allowance the seat used (SEAT_INVITES_PER_USER and what the ladder adds); null: an admin's code.
  seat_owner_id uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invite_seats_owner_idx ON invite_seats (seat_owner_id) WHERE seat_owner_id IS NOT NULL;

-- Spends of a user's credits by the product (POST /v1/credits/spend), one row per spend id: the
-- same id with the same body answers the same, another body is refused. The credits move through
-- the ledger (key spend:<id>); the row keeps the answer.
CREATE TABLE credit_spends (
  id text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  credits bigint NOT NULL CHECK (credits > 0),
  reason text,
  balance_after bigint NOT NULL CHECK (balance_after >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_spends_user_idx ON credit_spends (user_id, created_at);
