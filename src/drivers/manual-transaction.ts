import { LazyDbError } from '../errors.js'
import type { DriverConfig } from './contract.js'

// A transaction opened with a plain statement (BEGIN, START TRANSACTION, SAVEPOINT) outside
// transaction(). Where lazydb does not keep one connection for the caller between statements (each
// statement on a session of its own: HTTP, PlanetScale, libSQL's pooled connections), that
// transaction would be rolled back unseen or left open, and the caller's next statements would not
// be in it. Such a statement is refused before it is sent.

const OPENS_TRANSACTION = /^\s*(?:begin|start\s+transaction|savepoint)\b/i

/**
 * Whether the statement opens a transaction. It looks at the first two letters before anything else:
 * this is on every statement's path, and only "b…", "st…" and "sa…" can start such a statement.
 */
export function opensTransaction(text: string): boolean {
  let i = 0
  while (i < text.length && text.charCodeAt(i) <= 32) i++
  const first = text.charCodeAt(i) | 32
  if (first === 98) return OPENS_TRANSACTION.test(text) // b
  if (first !== 115) return false // s
  const second = text.charCodeAt(i + 1) | 32
  return (second === 116 || second === 97) && OPENS_TRANSACTION.test(text) // t, a
}

/** TRANSACTION_UNSUPPORTED for a statement that opened (or would open) a transaction outside transaction(). */
export function manualTransactionError(config: DriverConfig, rolledBack: boolean): LazyDbError {
  const what = rolledBack
    ? 'the statement opened a transaction outside transaction(); lazydb rolled it back'
    : 'a statement that opens a transaction (BEGIN, START TRANSACTION, SAVEPOINT) was refused unsent'
  return new LazyDbError(
    'TRANSACTION_UNSUPPORTED',
    `database "${config.alias}" (${config.driver}): ${what}, because the next statement may run on another ` +
      'connection. Use db.transaction(async (tx) => …)',
    { database: config.alias, mayHaveRun: false },
  )
}
