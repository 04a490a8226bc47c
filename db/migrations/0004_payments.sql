-- Up Migration
-- Payments and refunds reported by the product's billing, and the workflow outbox extended from
-- starts to messages: a payment or refund that concerns an edge writes, in the same statement, a
-- row the relay delivers to the edge's workflow as a signal (signal-with-start, so it also starts
-- a workflow the relay has not started yet). A row is delivered once it has a started_at; outcome
-- says what delivery found ('delivered', or 'workflow_closed' when the edge's workflow had ended).

ALTER TABLE workflow_outbox
  ADD COLUMN message_key text UNIQUE,
  ADD COLUMN signal_name text,
  ADD COLUMN signal_args jsonb,
  ADD COLUMN outcome text CHECK (outcome IN ('delivered', 'workflow_closed')),
  ADD CONSTRAINT workflow_outbox_message_check CHECK ((signal_name IS NULL) = (message_key IS NULL));
-- One start per workflow, any number of messages to it.
ALTER TABLE workflow_outbox DROP CONSTRAINT workflow_outbox_workflow_id_key;
CREATE UNIQUE INDEX workflow_outbox_start_key ON workflow_outbox (workflow_id) WHERE signal_name IS NULL;

CREATE TABLE payments (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
  user_id uuid NOT NULL REFERENCES users (id),
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  currency text NOT NULL CHECK (currency = 'USD'),
  paid_at timestamptz NOT NULL,
  edge_id uuid REFERENCES edges (id),
  -- Set by the edge's workflow when it prices the payment: 'earned', or why it earned nothing.
  commission_status text NOT NULL DEFAULT 'pending',
  commission_reason text,
  priced_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_user_idx ON payments (user_id, paid_at);
CREATE INDEX payments_edge_idx ON payments (edge_id) WHERE edge_id IS NOT NULL;

CREATE TABLE refunds (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
  payment_id text NOT NULL REFERENCES payments (id),
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  refunded_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

-- Fraud verdicts on an edge, each once by its id: hold (pays nothing until cleared), clear, void.
CREATE TABLE edge_verdicts (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
  edge_id uuid NOT NULL REFERENCES edges (id),
  verdict text NOT NULL CHECK (verdict IN ('hold', 'clear', 'void')),
  reason text NOT NULL,
  decided_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX edge_verdicts_edge_idx ON edge_verdicts (edge_id, created_at);

ALTER TABLE edges
  ADD COLUMN completed_at timestamptz,
  ADD COLUMN voided_at timestamptz;

-- How the payment was priced, kept once: a retried pricing answers this instead of pricing again.
ALTER TABLE payments ADD COLUMN pricing jsonb;

-- A payment's commission, clawbacks and void are found by the payment id they carry.
CREATE INDEX ledger_transactions_payment_idx ON ledger_transactions ((metadata ->> 'paymentId')) WHERE metadata ? 'paymentId';
