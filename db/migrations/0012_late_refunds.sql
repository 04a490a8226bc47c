-- Up Migration
-- Late refunds: a refund whose payment's edge workflow has ended is taken back by a workflow of its
-- own, `late-refund:<refundId>` (contracts/late-refund.ts), started from an outbox row naming the
-- refund (subject 'refund'). A refund recorded once its edge is stamped ended gets that row in
-- place of a message to the edge (db/refunds.ts).
ALTER TABLE workflow_outbox
  DROP CONSTRAINT workflow_outbox_subject_check,
  ADD CONSTRAINT workflow_outbox_subject_check CHECK (subject IN ('edge', 'launch', 'refund'));

-- A refund recorded while the edge's workflow still ran, but that it never took back (its message
-- reached the workflow as it was ending, or after: then the relay records `workflow_closed`), would
-- be lost. So when an edge is stamped completed (the workflow's last step), each refund of a payment
-- it earned on whose clawback is not in the ledger yet gets a late refund start as well. A refund
-- recorded meanwhile waits for this: it reads the edge's row under a share lock, so it either
-- committed before the stamp (and is found here) or sees the stamp (and goes late itself). The late
-- refund reads the ledger, so one started for a refund the edge did take back takes back nothing.
-- 'clawback:' || id is the key of a refund's clawback (domain/late-refund.ts refundClawbackKey).
CREATE FUNCTION edges_completed_late_refunds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO workflow_outbox (subject, subject_id)
  SELECT 'refund', r.id
  FROM refunds r JOIN payments p ON p.id = r.payment_id
  WHERE p.edge_id = NEW.id AND p.commission_status = 'earned'
    AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.idempotency_key = 'clawback:' || r.id)
  ON CONFLICT (subject, subject_id) WHERE signal_name IS NULL DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER edges_completed_late_refunds AFTER UPDATE OF completed_at ON edges
  FOR EACH ROW WHEN (OLD.completed_at IS NULL AND NEW.completed_at IS NOT NULL)
  EXECUTE FUNCTION edges_completed_late_refunds();
