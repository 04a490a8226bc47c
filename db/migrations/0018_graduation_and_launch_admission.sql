-- Up Migration
-- Issue 16, items 9 and 10.
--
-- Legend graduates: reaching the top rung of the milestone ladder (100 vested referrals) enrolls the
-- referrer's tenant as an approved partner at the intentional rate, once per user (this row is the
-- key: a rung revoked by a void and reached again finds it and changes nothing), in the transaction
-- that grants the rung (db/standing.ts). `outcome` says what the graduation did: enrolled (a new
-- partner row), raised (an existing partner's rates were below the intentional ones: raised, never
-- lowered) or kept (an existing partner at or above them: untouched).
CREATE TABLE partner_graduations (
  user_id uuid PRIMARY KEY REFERENCES users (id),
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  source text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('enrolled', 'raised', 'kept')),
  vested_referrals integer NOT NULL,
  graduated_at timestamptz NOT NULL DEFAULT now()
);

-- The launch strands no one: the launch-flip workflow admits everyone still waitlisted when the
-- program goes public, in the waitlist's order, page by page. Until it has finished, a signup is
-- waitlisted behind them (never admitted before someone who signed up before it); once it has,
-- every signup is active at once.
-- The admission's own record (apart from `launch`, so its pages never wait on the telling's
-- record), written with the flip.
CREATE TABLE launch_admission (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- Users waitlisted when the flip committed.
  waitlist_at_flip integer NOT NULL DEFAULT 0 CHECK (waitlist_at_flip >= 0),
  -- Users the flip's admission has admitted so far (signups it held back included).
  waitlist_admitted integer NOT NULL DEFAULT 0 CHECK (waitlist_admitted >= 0),
  -- Set once nobody is waitlisted any more (checked under the flip lock): from then on signups are active at once.
  finished_at timestamptz
);

-- A flip recorded before this migration ran: its workflow predates the admission and its signups
-- were active at once; it has nothing to hold new signups back for.
INSERT INTO launch_admission (finished_at) SELECT started_at FROM launch;

-- Who the flip admitted, in which order (1 first), and since when they had waited.
CREATE TABLE launch_admissions (
  user_id uuid PRIMARY KEY REFERENCES users (id),
  position integer NOT NULL UNIQUE CHECK (position > 0),
  waited_since timestamptz NOT NULL,
  admitted_at timestamptz NOT NULL DEFAULT now()
);

-- A new user's status follows the launch: in beta what the signup wrote (waitlisted, or active for
-- an invite seat); after the flip, waitlisted while the flip's admission runs and active once it
-- has finished (also for a signup that read the phase as beta before the flip committed). Until the
-- admission has finished, the check is made under the flip lock shared: the flip and the admission's
-- finish take it exclusively, so a signup either commits before them (the flip counts it, the
-- finish sees it waiting) or sees what they wrote.
CREATE FUNCTION users_status_follows_launch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM launch_admission WHERE finished_at IS NOT NULL) THEN
    NEW.status := 'active';
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock_shared(launch_flip_lock());
  IF EXISTS (SELECT 1 FROM launch_admission WHERE finished_at IS NULL) THEN
    NEW.status := 'waitlisted';
  ELSIF EXISTS (SELECT 1 FROM launch_admission) THEN
    NEW.status := 'active';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER users_status_follows_launch BEFORE INSERT ON users
  FOR EACH ROW EXECUTE FUNCTION users_status_follows_launch();
