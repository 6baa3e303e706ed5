import type { IsolationLevel, QueryResult, Statement } from '../types.js'
import type { DriverTransaction } from './contract.js'

// What every SQL driver says the same way about transactions.

/** An isolation level as SQL spells it (Postgres, MySQL and Vitess alike). */
export const ISOLATION_LEVELS: Readonly<Record<IsolationLevel, string>> = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
}

/**
 * A batch where the driver has no multi-statement request: the statements one after another in `tx`,
 * committed together, or rolled back (and the statement's error thrown) when one fails.
 */
export async function statementsIn(tx: DriverTransaction, statements: readonly Statement[]): Promise<QueryResult[]> {
  const results: QueryResult[] = []
  try {
    for (const s of statements) results.push(await tx.query(s.text, s.params))
  } catch (error) {
    await tx.rollback().catch(() => undefined)
    throw error
  }
  await tx.commit()
  return results
}
