-- Writes state what they expect: a batched statement checks that every row it meant to
-- change was still as its decision read it, and fails the transaction (SQLSTATE IN001)
-- otherwise; group commit then blames the write set whose expectation failed, alone.
CREATE FUNCTION intake_expect(ok boolean, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION 'expectation failed: %', what USING ERRCODE = 'IN001';
    END IF;
END
$$;
