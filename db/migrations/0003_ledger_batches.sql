-- Up Migration
-- Posts one or many balanced transactions in one call (postTransaction sends one; the ledger
-- writer batches concurrent postings). A known idempotency key writes nothing and answers the first
-- transaction; every new transaction must balance per currency (else nothing in the call is
-- written, and the writer retries its postings one by one); running balances are locked in id
-- order, so concurrent calls never deadlock. Entries are parallel arrays; p_tx_index says which
-- transaction (1-based) each belongs to. No temporary tables: they cost more than the posting.
CREATE FUNCTION ledger_post_batch(p_keys text[], p_kinds text[], p_metadata jsonb[], p_tx_index int[], p_owner_types text[],
                                  p_owner_ids text[], p_purposes text[], p_currencies text[], p_amounts bigint[])
RETURNS TABLE (idempotency_key text, transaction_id uuid, created boolean) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_ords bigint[];
  v_ids uuid[];
  v_unbalanced text;
BEGIN
  WITH input AS (
    SELECT k, kind, meta, ord FROM unnest(p_keys, p_kinds, p_metadata) WITH ORDINALITY AS x(k, kind, meta, ord)
  ), inserted AS (
    INSERT INTO ledger_transactions (idempotency_key, kind, metadata)
    SELECT k, kind, coalesce(meta, '{}') FROM input ORDER BY ord
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING ledger_transactions.id, ledger_transactions.idempotency_key
  )
  SELECT array_agg(input.ord), array_agg(inserted.id) INTO v_ords, v_ids
  FROM inserted JOIN input ON input.k = inserted.idempotency_key;

  IF v_ords IS NOT NULL THEN
    SELECT string_agg(DISTINCT p_keys[t] || ' (' || c || ')', ', ') INTO v_unbalanced FROM (
      SELECT x.t, x.c FROM unnest(p_tx_index, p_currencies, p_amounts) AS x(t, c, a)
      WHERE x.t = ANY (v_ords)
      GROUP BY x.t, x.c HAVING sum(x.a) <> 0) u;
    IF v_unbalanced IS NOT NULL THEN
      RAISE EXCEPTION 'ledger transactions do not balance: %', v_unbalanced USING ERRCODE = 'check_violation';
    END IF;

    INSERT INTO ledger_accounts (owner_type, owner_id, purpose, currency, balance)
    SELECT DISTINCT t, o, p, c, CASE WHEN t = 'platform' THEN NULL ELSE 0 END
    FROM unnest(p_owner_types, p_owner_ids, p_purposes, p_currencies) AS x(t, o, p, c)
    WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.owner_type = x.t AND a.owner_id = x.o AND a.purpose = x.p AND a.currency = x.c)
    ON CONFLICT DO NOTHING;

    WITH mapped AS (
      SELECT n.id AS tx, a.id AS account_id, x.a AS amount, x.c AS currency
      FROM unnest(p_tx_index, p_owner_types, p_owner_ids, p_purposes, p_currencies, p_amounts) AS x(t, ot, o, p, c, a)
      JOIN unnest(v_ords, v_ids) AS n(ord, id) ON n.ord = x.t
      JOIN ledger_accounts a ON a.owner_type = x.ot AND a.owner_id = x.o AND a.purpose = x.p AND a.currency = x.c
    ), locked AS (
      SELECT a.id FROM ledger_accounts a
      WHERE a.id IN (SELECT account_id FROM mapped) AND a.balance IS NOT NULL
      ORDER BY a.id FOR UPDATE
    ), entries AS (
      INSERT INTO ledger_entries (transaction_id, account_id, amount, currency)
      SELECT m.tx, m.account_id, m.amount, m.currency FROM mapped m, (SELECT count(*) FROM locked) l
      RETURNING account_id, amount
    )
    UPDATE ledger_accounts acc SET balance = acc.balance + s.total
    FROM (SELECT account_id, sum(amount) AS total FROM entries GROUP BY account_id) s
    WHERE acc.id = s.account_id AND acc.balance IS NOT NULL;
  END IF;

  RETURN QUERY
    SELECT x.k, coalesce(n.id, t.id), n.id IS NOT NULL
    FROM unnest(p_keys) WITH ORDINALITY AS x(k, ord)
    LEFT JOIN unnest(v_ords, v_ids) AS n(ord, id) ON n.ord = x.ord
    LEFT JOIN ledger_transactions t ON n.id IS NULL AND t.idempotency_key = x.k;
END $$;
