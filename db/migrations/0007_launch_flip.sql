-- Up Migration
-- The launch flip: the program goes public once (program.phase, read wherever a payment is priced,
-- so the flip is effective for every edge at the commit), and the launch-flip workflow then tells
-- every beta auto-enrolled edge's workflow. This row is the flip's record and its progress: the
-- workflow advances `cursor` (the last edge id done, keyset order) with the counts of that page in
-- one compare-and-set, so a page run twice is counted once.
CREATE TABLE launch (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  workflow_id text NOT NULL,
  started_at timestamptz NOT NULL,
  started_by text NOT NULL,
  finished_at timestamptz,
  -- Beta auto-enrolled edges written in beta, counted in the flip's transaction.
  total integer NOT NULL CHECK (total >= 0),
  -- Edge workflows told (running, or started from their outbox row with the message).
  converted integer NOT NULL DEFAULT 0 CHECK (converted >= 0),
  -- Edge workflows that had already ended (expired, completed, voided): nothing to tell.
  skipped integer NOT NULL DEFAULT 0 CHECK (skipped >= 0),
  -- Referrers of beta edges enrolled as partners at the beta tier by the flip.
  partners_enrolled integer NOT NULL DEFAULT 0 CHECK (partners_enrolled >= 0),
  cursor uuid
);

-- The flip pages these by id.
CREATE INDEX edges_beta_auto_idx ON edges (id) WHERE kind = 'beta_auto' AND phase_at_write = 'beta';

-- The flip takes this lock exclusively; every write of an edge (or of its workflow's start) made
-- from a beta read takes it shared. So the flip waits for edges being written to commit (they are
-- counted and paged like any other), and an edge written after it sees the phase it left.
CREATE FUNCTION launch_flip_lock() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT 7007000000007::bigint $$;

-- An edge whose writer read the phase before the flip committed but writes after it is written as
-- edgeKindFor (domain/edge.ts) answers in public: intentional, phase public. Nothing is written
-- in beta once the program is public.
CREATE FUNCTION edges_born_in_current_phase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(launch_flip_lock());
  IF (SELECT phase FROM program) = 'public' THEN
    NEW.phase_at_write := 'public';
    NEW.kind := 'intentional';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER edges_born_in_current_phase BEFORE INSERT ON edges
  FOR EACH ROW WHEN (NEW.phase_at_write = 'beta') EXECUTE FUNCTION edges_born_in_current_phase();

-- The same for the start of the edge's workflow (its input and search attributes), so the
-- workflow is born public too; messages copy their start row's args, so they follow.
CREATE FUNCTION workflow_outbox_edge_born_in_current_phase() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_partner uuid;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(launch_flip_lock());
  IF (SELECT phase FROM program) = 'public' THEN
    NEW.args := jsonb_set(jsonb_set(NEW.args, '{0,phase}', '"public"'), '{0,kind}', '"intentional"');
    IF NEW.args -> 0 ->> 'partnerId' IS NULL THEN
      SELECT p.tenant_id INTO v_partner FROM users u JOIN partners p ON p.tenant_id = u.tenant_id
      WHERE u.id = (NEW.args -> 0 ->> 'referrerId')::uuid AND p.approved AND p.status = 'active';
      IF v_partner IS NOT NULL THEN
        NEW.args := jsonb_set(NEW.args, '{0,partnerId}', to_jsonb(v_partner::text));
        NEW.search_attributes := NEW.search_attributes || jsonb_build_object('PartnerId', v_partner::text);
      END IF;
    END IF;
    NEW.search_attributes := NEW.search_attributes || jsonb_build_object('ProgramPhase', 'public', 'EdgeKind', 'intentional');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER workflow_outbox_edge_born_in_current_phase BEFORE INSERT ON workflow_outbox
  FOR EACH ROW WHEN (NEW.signal_name IS NULL AND NEW.workflow_type = 'referralLifecycle' AND NEW.args -> 0 ->> 'phase' = 'beta')
  EXECUTE FUNCTION workflow_outbox_edge_born_in_current_phase();

-- A referral code for a partner the flip enrolls: 10 characters of the alphabet of
-- domain/referral-code.ts, from a v4 uuid's random bytes (its version and variant bytes skipped).
CREATE FUNCTION random_referral_code() RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg(substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + get_byte(r.b, x.i) % 31, 1), '' ORDER BY x.n)
  FROM (SELECT uuid_send(gen_random_uuid()) AS b) r, unnest(ARRAY[0, 1, 2, 3, 4, 5, 9, 10, 11, 12]) WITH ORDINALITY AS x(i, n)
$$;
