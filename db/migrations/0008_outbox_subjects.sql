-- Up Migration
-- Outbox rows name what they are about and the message, not a copy of the workflow's start: a row
-- says `subject` (the kind of business object: 'edge', 'launch') and `subject_id` (its id), and,
-- for a message, the signal and its arguments. The relay builds the start from the subject's
-- current row through the workflow's contract (contracts/), so a start never carries a stale copy
-- and no trigger rewrites JSON. Rows written in the old shape are converted here, pending ones
-- included, so they deliver like any other.

-- What an edge's workflow input needs that the edge row did not hold: its activation window.
ALTER TABLE edges ADD COLUMN activation_window_days integer CHECK (activation_window_days > 0);
UPDATE edges e SET activation_window_days = (o.args -> 0 ->> 'activationWindowDays')::integer
FROM workflow_outbox o
WHERE o.signal_name IS NULL AND o.workflow_type = 'referralLifecycle' AND (o.args -> 0 ->> 'edgeId')::uuid = e.id;
UPDATE edges SET activation_window_days = 30 WHERE activation_window_days IS NULL;
ALTER TABLE edges ALTER COLUMN activation_window_days SET NOT NULL;

-- What the launch-flip workflow is started with beyond the flip's time (paging, for big graphs and tests).
ALTER TABLE launch ADD COLUMN page_size integer CHECK (page_size > 0), ADD COLUMN pages_per_run integer CHECK (pages_per_run > 0);
UPDATE launch l SET page_size = (o.args -> 0 ->> 'pageSize')::integer, pages_per_run = (o.args -> 0 ->> 'pagesPerRun')::integer
FROM workflow_outbox o WHERE o.signal_name IS NULL AND o.workflow_id = l.workflow_id;

ALTER TABLE workflow_outbox ADD COLUMN subject text, ADD COLUMN subject_id text;
UPDATE workflow_outbox SET subject = 'edge', subject_id = args -> 0 ->> 'edgeId' WHERE workflow_type = 'referralLifecycle';
UPDATE workflow_outbox SET subject = 'launch', subject_id = 'launch' WHERE workflow_type = 'launchFlip';
-- Any other row would have no way to be delivered: the NOT NULL below refuses the migration instead.
ALTER TABLE workflow_outbox
  ALTER COLUMN subject SET NOT NULL,
  ALTER COLUMN subject_id SET NOT NULL,
  ADD CONSTRAINT workflow_outbox_subject_check CHECK (subject IN ('edge', 'launch'));

DROP TRIGGER workflow_outbox_edge_born_in_current_phase ON workflow_outbox;
DROP FUNCTION workflow_outbox_edge_born_in_current_phase();
DROP INDEX workflow_outbox_start_key;
ALTER TABLE workflow_outbox DROP COLUMN workflow_id, DROP COLUMN workflow_type, DROP COLUMN args, DROP COLUMN search_attributes;
-- One start per subject, any number of messages to it.
CREATE UNIQUE INDEX workflow_outbox_start_key ON workflow_outbox (subject, subject_id) WHERE signal_name IS NULL;
