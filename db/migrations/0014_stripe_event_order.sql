-- Up Migration
-- Stripe delivers webhooks in no particular order and retries them for days, so the last to arrive
-- is not always the newest. Each partner keeps the `created` time and id of the `account.updated`
-- event its Connect status came from; an older one (by created, then id) is recorded as handled
-- and changes nothing.
ALTER TABLE partners
  ADD COLUMN stripe_status_event_created timestamptz,
  ADD COLUMN stripe_status_event_id text,
  ADD CONSTRAINT partners_stripe_status_event_check
    CHECK ((stripe_status_event_created IS NULL) = (stripe_status_event_id IS NULL));

-- Another Connect account starts its own order: the previous account's events say nothing about it.
CREATE FUNCTION partners_stripe_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.stripe_account_id IS DISTINCT FROM OLD.stripe_account_id THEN
    NEW.stripe_status_event_created := NULL;
    NEW.stripe_status_event_id := NULL;
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER partners_stripe_account_changed
  BEFORE UPDATE OF stripe_account_id ON partners
  FOR EACH ROW EXECUTE FUNCTION partners_stripe_account_changed();
