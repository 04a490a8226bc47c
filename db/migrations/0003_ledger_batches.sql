-- Up Migration
-- Posts many balanced transactions in one call (the ledger writer batches concurrent postings).
-- Same rules as ledger_post: a known idempotency key writes nothing and answers the first
-- transaction; every new transaction must balance per currency (else nothing in the call is
-- written, and the writer retries its postings one by one); running balances are locked in id
-- order. Entries are parallel arrays; p_tx_index says which transaction (1-based) each belongs to.
CREATE FUNCTION ledger_post_batch(p_keys text[], p_kinds text[], p_metadata jsonb[], p_tx_index int[], p_owner_types text[],
                                  p_owner_ids text[], p_purposes text[], p_currencies text[], p_amounts bigint[])
RETURNS TABLE (idempotency_key text, transaction_id uuid, created boolean) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_unbalanced text;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS ledger_batch_new (ord int PRIMARY KEY, id uuid NOT NULL) ON COMMIT DELETE ROWS;
  DELETE FROM ledger_batch_new;

  WITH input AS (
    SELECT k, kind, meta, ord FROM unnest(p_keys, p_kinds, p_metadata) WITH ORDINALITY AS x(k, kind, meta, ord)
  ), inserted AS (
    INSERT INTO ledger_transactions (idempotency_key, kind, metadata)
    SELECT k, kind, coalesce(meta, '{}') FROM input ORDER BY ord
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING ledger_transactions.id, ledger_transactions.idempotency_key
  )
  INSERT INTO ledger_batch_new (ord, id)
  SELECT input.ord, inserted.id FROM inserted JOIN input ON input.k = inserted.idempotency_key;

  SELECT string_agg(DISTINCT p_keys[t] || ' (' || c || ')', ', ') INTO v_unbalanced FROM (
    SELECT x.t, x.c FROM unnest(p_tx_index, p_currencies, p_amounts) AS x(t, c, a)
    WHERE x.t IN (SELECT ord FROM ledger_batch_new)
    GROUP BY x.t, x.c HAVING sum(x.a) <> 0) u;
  IF v_unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'ledger transactions do not balance: %', v_unbalanced USING ERRCODE = 'check_violation';
  END IF;

  INSERT INTO ledger_accounts (owner_type, owner_id, purpose, currency, balance)
  SELECT DISTINCT t, o, p, c, CASE WHEN t = 'platform' THEN NULL ELSE 0 END
  FROM unnest(p_owner_types, p_owner_ids, p_purposes, p_currencies) AS x(t, o, p, c)
  WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.owner_type = x.t AND a.owner_id = x.o AND a.purpose = x.p AND a.currency = x.c)
  ON CONFLICT DO NOTHING;

  CREATE TEMP TABLE IF NOT EXISTS ledger_batch_entries (tx uuid NOT NULL, account_id bigint NOT NULL, amount bigint NOT NULL, currency text NOT NULL) ON COMMIT DELETE ROWS;
  DELETE FROM ledger_batch_entries;
  INSERT INTO ledger_batch_entries (tx, account_id, amount, currency)
  SELECT n.id, a.id, x.a, x.c
  FROM unnest(p_tx_index, p_owner_types, p_owner_ids, p_purposes, p_currencies, p_amounts) AS x(t, ot, o, p, c, a)
  JOIN ledger_batch_new n ON n.ord = x.t
  JOIN ledger_accounts a ON a.owner_type = x.ot AND a.owner_id = x.o AND a.purpose = x.p AND a.currency = x.c;

  PERFORM 1 FROM ledger_accounts WHERE id IN (SELECT account_id FROM ledger_batch_entries) AND balance IS NOT NULL ORDER BY id FOR UPDATE;
  INSERT INTO ledger_entries (transaction_id, account_id, amount, currency) SELECT tx, account_id, amount, currency FROM ledger_batch_entries;
  UPDATE ledger_accounts acc SET balance = acc.balance + s.total
  FROM (SELECT account_id, sum(amount) AS total FROM ledger_batch_entries GROUP BY account_id) s
  WHERE acc.id = s.account_id AND acc.balance IS NOT NULL;

  RETURN QUERY
    SELECT x.k, coalesce(n.id, t.id), n.id IS NOT NULL
    FROM unnest(p_keys) WITH ORDINALITY AS x(k, ord)
    LEFT JOIN ledger_batch_new n ON n.ord = x.ord
    LEFT JOIN ledger_transactions t ON n.id IS NULL AND t.idempotency_key = x.k;
END $$;
