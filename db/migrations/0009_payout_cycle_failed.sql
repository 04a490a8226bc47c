-- Up Migration
-- A payout cycle whose page could not be paid after a day of retries ends as `failed` (its workflow
-- fails too, with the reason, for ops): it no longer holds the one-running-cycle slot, and a later
-- cycle of the same period resumes its payouts. `completed` stays a claim that every page was paid.
ALTER TABLE payout_cycles DROP CONSTRAINT payout_cycles_status_check;
ALTER TABLE payout_cycles ADD CONSTRAINT payout_cycles_status_check CHECK (status IN ('running', 'completed', 'failed'));
