import { LazyDbError } from '../errors.js'
import type { DriverConfig } from './contract.js'

// A transaction opened with a plain statement (BEGIN, START TRANSACTION, SAVEPOINT) outside
// transaction(). Where lazydb does not keep one connection for the caller between statements (each
// statement on a session of its own: HTTP, PlanetScale, libSQL's pooled connections), that
// transaction would be rolled back unseen or left open, and the caller's next statements would not
// be in it. Such a statement is refused before it is sent.

// What may come before the first keyword: whitespace, semicolons, a byte-order mark, comments.
const LEADING = /(?:[\s;\uFEFF]+|\/\*[\s\S]*?\*\/|--[^\n]*(?:\n|$))*/y
const OPENS_TRANSACTION = /(?:begin|start\s+transaction|savepoint)\b/iy

/**
 * Whether the statement opens a transaction. It looks at the first two letters before anything else:
 * this is on every statement's path, and only "b…", "st…" and "sa…" can start such a statement.
 */
export function opensTransaction(text: string): boolean {
  let start = 0
  const c = text.charCodeAt(0)
  // Anything but a letter first (space, ";", a comment, a BOM): skip it all, then look.
  if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) {
    LEADING.lastIndex = 0
    LEADING.test(text)
    start = LEADING.lastIndex
  }
  const first = text.charCodeAt(start) | 32
  if (first !== 98 && first !== 115) return false // b, s
  const second = text.charCodeAt(start + 1) | 32
  if (first === 115 && second !== 116 && second !== 97) return false // st, sa
  OPENS_TRANSACTION.lastIndex = start
  return OPENS_TRANSACTION.test(text)
}

/** TRANSACTION_UNSUPPORTED for a statement that opened (or would open) a transaction outside transaction(). */
export function manualTransactionError(config: DriverConfig, rolledBack: boolean): LazyDbError {
  const what = rolledBack
    ? 'the statement left a transaction open outside transaction(); lazydb rolled it back (what ran ' +
      'before the BEGIN in the same text may have been committed)'
    : 'a statement that opens a transaction (BEGIN, START TRANSACTION, SAVEPOINT) was refused unsent'
  return new LazyDbError(
    'TRANSACTION_UNSUPPORTED',
    `database "${config.alias}" (${config.driver}): ${what}, because the next statement may run on another ` +
      'connection. Use db.transaction(async (tx) => …)',
    { database: config.alias, mayHaveRun: rolledBack },
  )
}
