import type { Client, Connection, ExecutedQuery } from '@planetscale/database'
import type { Params, QueryResult, Statement, TransactionOptions } from '../../types.js'
import { ClientClosedError, type DriverClient, type DriverConfig, type DriverTransaction } from '../contract.js'
import { manualTransactionError, opensTransaction } from '../manual-transaction.js'
import { ISOLATION_LEVELS, statementsIn } from '../transaction-sql.js'

type Args = Record<string, unknown> | unknown[] | null
const args = (params: Params | undefined): Args => (params === undefined ? null : (params as Args))
// The schema is a checked identifier; quoting it still keeps it an identifier whatever it holds.
const use = (schema: string) => `USE \`${schema.replace(/`/g, '``')}\``

function toResult(r: ExecutedQuery): QueryResult {
  const rows = r.rows as Record<string, unknown>[]
  // A statement with columns is a read (even with no rows); otherwise report the rows it changed.
  const result: QueryResult = { rows, rowCount: r.fields.length > 0 ? rows.length : r.rowsAffected, columns: r.headers }
  if (r.insertId && r.insertId !== '0') result.lastInsertId = r.insertId
  return result
}

/**
 * An interactive transaction: one driver `Connection` (one PlanetScale session) of its own. Its
 * statements are queued, so `Promise.all` inside a transaction never sends two requests on the
 * same session at once (the session is one MySQL connection on the server: use it in turn).
 */
class PlanetscaleTransaction implements DriverTransaction {
  #tail: Promise<unknown> = Promise.resolve()
  readonly #conn: Connection
  #dropped = false
  constructor(conn: Connection) {
    this.#conn = conn
  }

  #inTurn<T>(op: () => Promise<T>): Promise<T> {
    if (this.#dropped) return Promise.reject(new ClientClosedError())
    const next = this.#tail.then(op, op)
    this.#tail = next.catch(() => undefined)
    return next
  }

  query(text: string, params: Params | undefined): Promise<QueryResult> {
    return this.#inTurn(async () => toResult(await this.#conn.execute(text, args(params))))
  }

  async commit(): Promise<void> {
    await this.#inTurn(() => this.#conn.execute('COMMIT'))
  }

  async rollback(force = false): Promise<void> {
    if (!force) {
      await this.#inTurn(() => this.#conn.execute('ROLLBACK'))
      return
    }
    // At once: nothing more is sent on this session after a ROLLBACK that goes out now, unawaited
    // (a statement still running on it cannot be cancelled over HTTP; the ROLLBACK follows it).
    this.#dropped = true
    void this.#conn.execute('ROLLBACK').catch(() => undefined)
  }
}

/**
 * Sessions: a driver `Connection` carries a PlanetScale session (USE, SET, an open transaction)
 * from one request to the next, and must be used by one caller at a time: PlanetScale's answer
 * to two requests racing on one session is undefined, and this client is shared by every
 * concurrent invocation of a warm instance. So a plain statement goes through `Client.execute`,
 * which starts a fresh session for it. That costs nothing: it is still one HTTP request, fetch
 * keeps the TCP/TLS connection alive either way, and no statement can see session state
 * another one left behind. Transactions and schema-bound statements get a `Connection` of their own.
 */
export class PlanetscaleClient implements DriverClient {
  readonly raw: Client
  readonly #config: DriverConfig
  constructor(raw: Client, config: DriverConfig) {
    this.raw = raw
    this.#config = config
  }

  toResult(native: unknown): QueryResult {
    return native as QueryResult
  }

  async execute(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    if (opensTransaction(text)) throw manualTransactionError(this.#config, false)
    if (schema === undefined) return toResult(await this.raw.execute(text, args(params)))
    // A schema is a `USE` on a session of the statement's own, thrown away after it: two requests,
    // and nothing left behind. Keeping `USE`d sessions for reuse would save one request but would
    // also carry whatever a statement leaves on its session (user variables, GET_LOCK, temporary
    // tables, LAST_INSERT_ID, a stray BEGIN) into unrelated later statements.
    const conn = this.raw.connection()
    await conn.execute(use(schema))
    return toResult(await conn.execute(text, args(params)))
  }

  /** PlanetScale has no multi-statement request: BEGIN, the statements, COMMIT on one session. */
  async batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]> {
    return statementsIn(await this.begin(undefined, schema), statements)
  }

  /**
   * What the driver's `transaction(fn)` does, as begin/commit/rollback: a fresh session, then
   * `USE` (schema), `SET TRANSACTION ISOLATION LEVEL` (next transaction of this session only),
   * and `BEGIN` or `START TRANSACTION READ ONLY`. The session is dropped when the transaction ends.
   */
  async begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<DriverTransaction> {
    const conn = this.raw.connection()
    if (schema !== undefined) await conn.execute(use(schema))
    const level = options?.isolationLevel
    if (level !== undefined) await conn.execute(`SET TRANSACTION ISOLATION LEVEL ${ISOLATION_LEVELS[level]}`)
    await conn.execute(options?.readOnly === true ? 'START TRANSACTION READ ONLY' : 'BEGIN')
    return new PlanetscaleTransaction(conn)
  }

  /** Nothing to close: requests are plain fetch calls and the runtime owns their sockets. */
  async close(): Promise<void> {}
}
