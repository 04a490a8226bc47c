-- Up Migration
-- The beta waitlist: a user's standing (score and wave skip, written by the activity that records
-- a referral vesting, computed by domain/waitlist.ts), the moves that changed it (so "N people
-- passed you this week" is counted from what happened), waves with real seat caps and dates, and
-- the milestone ladder's grants and entitlements.

ALTER TABLE users
  ADD COLUMN vested_referrals integer NOT NULL DEFAULT 0 CHECK (vested_referrals >= 0),
  ADD COLUMN waitlist_score integer NOT NULL DEFAULT 0 CHECK (waitlist_score >= 0),
  ADD COLUMN wave_skip boolean NOT NULL DEFAULT false,
  ADD COLUMN admitted_at timestamptz,
  ADD COLUMN admitted_wave_id uuid;

-- The waitlist's order: wave skip first, then score, then who signed up first. A position is one
-- count over this index.
CREATE INDEX users_waitlist_order_idx ON users ((NOT wave_skip), (-waitlist_score), created_at, id) WHERE status = 'waitlisted';
CREATE INDEX users_waitlist_since_idx ON users (created_at) WHERE status = 'waitlisted';
CREATE INDEX users_admitted_idx ON users (admitted_at) WHERE admitted_at IS NOT NULL;
CREATE INDEX edges_referrer_vested_idx ON edges (referrer_id) WHERE vested_at IS NOT NULL;

-- A change of a user's place in the order, as it happened (positions counted at that moment).
CREATE TABLE waitlist_moves (
  id bigserial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  at timestamptz NOT NULL DEFAULT now(),
  old_score integer NOT NULL,
  new_score integer NOT NULL,
  old_skip boolean NOT NULL,
  new_skip boolean NOT NULL,
  old_position integer,
  new_position integer,
  reason text NOT NULL
);
CREATE INDEX waitlist_moves_at_idx ON waitlist_moves (at);
CREATE INDEX waitlist_moves_user_idx ON waitlist_moves (user_id, at);

CREATE TABLE waves (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  seat_cap integer NOT NULL CHECK (seat_cap > 0),
  opens_at timestamptz NOT NULL,
  -- Planned by the release workflow to keep the longest wait under target (not by an admin).
  auto boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'released')),
  admitted_count integer NOT NULL DEFAULT 0 CHECK (admitted_count >= 0 AND admitted_count <= seat_cap),
  released_at timestamptz,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX waves_scheduled_idx ON waves (opens_at) WHERE status = 'scheduled';
-- At most one planned wave waits at a time: the planner resizes it rather than adding another.
CREATE UNIQUE INDEX waves_one_auto_scheduled ON waves ((true)) WHERE auto AND status = 'scheduled';

ALTER TABLE users ADD CONSTRAINT users_admitted_wave_fk FOREIGN KEY (admitted_wave_id) REFERENCES waves (id);

CREATE TABLE wave_admissions (
  wave_id uuid NOT NULL REFERENCES waves (id),
  user_id uuid NOT NULL UNIQUE REFERENCES users (id),
  position integer NOT NULL,
  waited_since timestamptz NOT NULL,
  admitted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (wave_id, position)
);

-- One grant per rung per user, ever.
CREATE TABLE milestone_grants (
  user_id uuid NOT NULL REFERENCES users (id),
  rung integer NOT NULL,
  vested_referrals integer NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, rung)
);

-- What a user is entitled to: Pro preview or Pro for a time, badges, the founding price lock, ...
-- A reward that vests on activation has no start until the user builds an app.
CREATE TABLE entitlements (
  id bigserial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  kind text NOT NULL,
  detail text NOT NULL DEFAULT '',
  source text NOT NULL,
  duration_days integer CHECK (duration_days > 0),
  vests_on_activation boolean NOT NULL DEFAULT false,
  starts_at timestamptz,
  ends_at timestamptz,
  granted_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, source, kind, detail)
);
CREATE INDEX entitlements_unvested_idx ON entitlements (user_id) WHERE starts_at IS NULL;
