export { sleep, waitFor } from '@switchyard/conformance';

/**
 * Records the true commit order of the outbox rows of `schema`, server-side, for the ordering
 * tests: a deferred constraint trigger runs at each COMMIT — inside the commit, while the writer's
 * locks are still held — and numbers the transaction's rows from one sequence. (Watching COMMITs
 * return in the test process cannot tell two commits a fraction of a millisecond apart.)
 */
export async function recordCommitOrder(
  pool: { query(text: string): Promise<unknown> },
  schema: string,
): Promise<void> {
  const q = `"${schema}"`;
  await pool.query(`CREATE SEQUENCE ${q}.commit_seq`);
  await pool.query(
    `CREATE TABLE ${q}.commit_order (message_id text NOT NULL, target text NOT NULL, seq bigint NOT NULL)`,
  );
  await pool.query(`CREATE FUNCTION ${q}.record_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${q}.commit_order VALUES (NEW.message_id, NEW.target, nextval('${q}.commit_seq'));
      RETURN NULL;
    END $$`);
  await pool.query(`CREATE CONSTRAINT TRIGGER record_commit AFTER INSERT ON ${q}.outbox_messages
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${q}.record_commit()`);
}

/** The commit sequence number of each recorded message id (see {@link recordCommitOrder}). */
export async function commitOrder(
  pool: { query(text: string): Promise<{ rows: unknown[] }> },
  schema: string,
): Promise<Map<string, number>> {
  const result = await pool.query(`SELECT message_id, seq::int AS seq FROM "${schema}".commit_order`);
  return new Map(
    (result.rows as { message_id: string; seq: number }[]).map((row) => [row.message_id, row.seq]),
  );
}
