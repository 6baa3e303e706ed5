import type { Params, QueryResult, TransactionOptions } from '../../types.js'
import { ISOLATION_LEVELS } from '../transaction-sql.js'

// What lazydb says to MySQL/MariaDB through mysql2 and reads back: statement options, results, the
// transaction statements and the server's status flags. No I/O.

/** The options of one `connection.query`: named parameters where an object was given. */
export interface QueryOptions {
  sql: string
  namedPlaceholders?: boolean
}

/**
 * `?` placeholders take an array (mysql2 escapes each value into the text, so one statement is one
 * round trip and works behind any pooler); `:name` placeholders take an object (mysql2's
 * `namedPlaceholders`, turned on for that statement only).
 */
export function queryOptions(text: string, params: Params | undefined): [QueryOptions, unknown[] | object] {
  if (params === undefined || Array.isArray(params)) return [{ sql: text }, (params as unknown[] | undefined) ?? []]
  return [{ sql: text, namedPlaceholders: true }, params]
}

/** mysql2's OK packet (`ResultSetHeader`): what a write, a DDL statement or BEGIN returns. */
export interface OkPacket {
  affectedRows: number | string
  insertId: number | string
  serverStatus?: number
}

interface FieldLike {
  name: string
}

/** SERVER_STATUS_IN_TRANS: the session is inside a transaction. */
const IN_TRANSACTION = 1
/** SERVER_STATUS_AUTOCOMMIT: the session commits each statement (off after `SET autocommit = 0`). */
const AUTOCOMMIT = 2

function isOk(value: unknown): value is OkPacket {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'affectedRows' in value
}

/** The last OK packet of a result (a CALL's results end with one), if any. */
function lastOk(rows: unknown): OkPacket | undefined {
  if (isOk(rows)) return rows
  if (Array.isArray(rows)) for (let i = rows.length - 1; i >= 0; i--) if (isOk(rows[i])) return rows[i]
  return undefined
}

/**
 * What a statement left on its session, from the status flags of the server's last OK packet: an
 * open transaction (`BEGIN` sent as a statement), or autocommit off. A result set carries no flags;
 * only a statement that answers with an OK packet can change either.
 */
export function sessionLeft(rows: unknown): 'clean' | 'in-transaction' | 'autocommit-off' {
  const status = lastOk(rows)?.serverStatus
  if (typeof status !== 'number') return 'clean'
  if ((status & IN_TRANSACTION) !== 0) return 'in-transaction'
  return (status & AUTOCOMMIT) === 0 ? 'autocommit-off' : 'clean'
}

/**
 * A result as lazydb reports it. With several result sets (a CALL; `multipleStatements`), the last
 * one with columns, else the last OK packet.
 */
export function toResult(rows: unknown, fields: unknown): QueryResult {
  if (Array.isArray(fields) && fields.length > 0 && (Array.isArray(fields[0]) || fields.includes(undefined))) {
    const sets = rows as unknown[]
    for (let i = fields.length - 1; i >= 0; i--) {
      if (Array.isArray(fields[i])) return toResult(sets[i], fields[i])
    }
    return toResult(lastOk(rows), undefined)
  }
  if (Array.isArray(rows)) {
    const columns = Array.isArray(fields) ? (fields as FieldLike[]).map((f) => f.name) : []
    return { rows: rows as Record<string, unknown>[], rowCount: rows.length, columns }
  }
  const ok = isOk(rows) ? rows : { affectedRows: 0, insertId: 0 }
  const result: QueryResult = { rows: [], rowCount: Number(ok.affectedRows), columns: [] }
  const id = String(ok.insertId)
  if (id !== '0' && id !== 'undefined') result.lastInsertId = id
  return result
}

/** `SET TRANSACTION ISOLATION LEVEL …` (the next transaction of the session only), if a level is asked for. */
export function isolationStatement(options: TransactionOptions | undefined): string | undefined {
  const level = options?.isolationLevel
  return level === undefined ? undefined : `SET TRANSACTION ISOLATION LEVEL ${ISOLATION_LEVELS[level]}`
}

export function startStatement(options: TransactionOptions | undefined): string {
  if (options?.readOnly === true) return 'START TRANSACTION READ ONLY'
  return options?.readOnly === false ? 'START TRANSACTION READ WRITE' : 'START TRANSACTION'
}

/** `USE` a checked identifier, quoted, so that it stays an identifier whatever it holds. */
export function useStatement(schema: string): string {
  return `USE \`${schema.replace(/`/g, '``')}\``
}
