-- Up Migration
-- Fraud signals: what a client told us about a person at signup, activation and payment (device id,
-- IP address and its network, payment instrument fingerprint), kept as sightings so the overlap
-- rules answer "who else was seen with this value" from one index.
CREATE TABLE fraud_sightings (
  user_id uuid NOT NULL REFERENCES users (id),
  kind text NOT NULL CHECK (kind IN ('device', 'ip', 'network', 'card')),
  value text NOT NULL CHECK (length(value) BETWEEN 1 AND 200),
  -- Where it was seen: 'signup', 'activation', or 'payment:<paymentId>'.
  source text NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now(),
  -- Each sighting once: a replayed request writes nothing twice. A person's own sightings are read
  -- through it (user_id first). No surrogate id: two indexes per row to write on the signup path.
  PRIMARY KEY (user_id, kind, value, source)
);
-- Overlap: everyone seen with a value. Velocity: a value's sightings in a recent window.
CREATE INDEX fraud_sightings_value_idx ON fraud_sightings (kind, value, seen_at);

ALTER TABLE payments ADD COLUMN payment_method_fingerprint text
  CHECK (payment_method_fingerprint IS NULL OR length(payment_method_fingerprint) BETWEEN 1 AND 200);

-- What each rule said about an edge, every time it ran: stored, explained (reason and evidence),
-- once per edge, stage, rule and subject (a payment id at payment time, '' otherwise).
CREATE TABLE fraud_rule_verdicts (
  id bigserial PRIMARY KEY,
  edge_id uuid NOT NULL REFERENCES edges (id),
  stage text NOT NULL CHECK (stage IN ('edge_write', 'activation', 'payment', 'periodic')),
  subject text NOT NULL DEFAULT '',
  rule text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('allow', 'score', 'hold', 'block')),
  score integer NOT NULL DEFAULT 0 CHECK (score >= 0),
  reason text NOT NULL,
  evidence jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (edge_id, stage, subject, rule)
);
CREATE INDEX fraud_rule_verdicts_edge_idx ON fraud_rule_verdicts (edge_id, created_at);

-- A hold names the rule that raised it, its score and evidence; a clear or void names the hold it
-- resolves and who reviewed it.
ALTER TABLE edge_verdicts
  ADD COLUMN rule text,
  ADD COLUMN score integer,
  ADD COLUMN evidence jsonb,
  ADD COLUMN resolves text REFERENCES edge_verdicts (id);
CREATE INDEX edge_verdicts_holds_idx ON edge_verdicts (created_at DESC, id DESC) WHERE verdict = 'hold';
-- A hold the rules raise at payment is named fraud:payment:<edgeId>:<paymentId>: past 200 characters
-- with a long payment id.
ALTER TABLE edge_verdicts
  DROP CONSTRAINT edge_verdicts_id_check,
  ADD CONSTRAINT edge_verdicts_id_check CHECK (length(id) BETWEEN 1 AND 300);

-- The edge's current hold (null when none): the ladder, the score and the money read this.
ALTER TABLE edges ADD COLUMN held_at timestamptz;

-- Cancellations the product's server reports, each once by its id.
CREATE TABLE cancellations (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
  user_id uuid NOT NULL REFERENCES users (id),
  cancelled_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cancellations_user_idx ON cancellations (user_id, cancelled_at);
