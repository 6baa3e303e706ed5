import { Client, type Config, type Connection, type ExecutedQuery } from '@planetscale/database'
import type { DatabaseOptions } from '../config.js'
import { Database } from '../database.js'
import { configError, describeValue, isOptionsObject } from '../errors.js'
import type { Driver, DriverClient, DriverTransaction, ErrorInfo, ResolvedConfig } from './driver.js'
import { registerDriver } from './load.js'
import { classifyNetwork } from './network-errors.js'
import type { IsolationLevel, Params, QueryResult, Statement, TransactionOptions } from '../types.js'

/** Options for `planetscale()`: the driver's `fetch`, `cast` and `format`, and lazydb's own. */
export type PlanetscaleOptions = Omit<DatabaseOptions, 'url' | 'driver'> & Pick<Config, 'fetch' | 'cast' | 'format'>

/**
 * A PlanetScale database (MySQL over HTTP, `@planetscale/database`) for a Registry.
 * `mysql://user:pass@host` is reached over https; an `http(s)://` URL is used as it is.
 * Importing this subpath also registers the driver for `mysql://` URLs.
 * @example
 * import { planetscale } from 'lazydb/planetscale'
 * export const registry = new Registry({ database: planetscale(env.DATABASE_URL) })
 * await registry.using(undefined, { schema: 'tenant_42' }).query('select * from orders where id = ?', [id])
 */
export function planetscale(url: string, options?: PlanetscaleOptions): Database {
  if (options !== undefined && !isOptionsObject(options)) {
    throw configError(undefined, `planetscale() options must be an object (got ${describeValue(options)})`, 'Pass planetscale(url, { fetch }) or leave the options out')
  }
  return new Database({ ...options, url, driver: 'planetscale' })
}

const LEVELS: Record<IsolationLevel, string> = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
}

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
  constructor(readonly conn: Connection) {}

  #inTurn<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(op, op)
    this.#tail = next.catch(() => undefined)
    return next
  }

  query(text: string, params: Params | undefined): Promise<QueryResult> {
    return this.#inTurn(async () => toResult(await this.conn.execute(text, args(params))))
  }

  async commit(): Promise<void> {
    await this.#inTurn(() => this.conn.execute('COMMIT'))
  }

  async rollback(): Promise<void> {
    await this.#inTurn(() => this.conn.execute('ROLLBACK'))
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
class PlanetscaleClient implements DriverClient {
  constructor(readonly raw: Client) {}

  toResult(native: unknown): QueryResult {
    return native as QueryResult
  }

  async execute(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
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
    const tx = await this.begin(undefined, schema)
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

  /**
   * What the driver's `transaction(fn)` does, as begin/commit/rollback: a fresh session, then
   * `USE` (schema), `SET TRANSACTION ISOLATION LEVEL` (next transaction of this session only),
   * and `BEGIN` or `START TRANSACTION READ ONLY`. The session is dropped when the transaction ends.
   */
  async begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<DriverTransaction> {
    const conn = this.raw.connection()
    if (schema !== undefined) await conn.execute(use(schema))
    const level = options?.isolationLevel
    if (level !== undefined) await conn.execute(`SET TRANSACTION ISOLATION LEVEL ${LEVELS[level]}`)
    await conn.execute(options?.readOnly === true ? 'START TRANSACTION READ ONLY' : 'BEGIN')
    return new PlanetscaleTransaction(conn)
  }

  /** Nothing to close: requests are plain fetch calls and the runtime owns their sockets. */
  async close(): Promise<void> {}
}

function checkConfig(config: ResolvedConfig): void {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(config.url)?.[1]?.toLowerCase()
  if (scheme !== 'mysql' && scheme !== 'http' && scheme !== 'https') {
    throw configError(config.alias, `the planetscale driver needs a mysql://, https:// or http:// URL (got ${scheme ?? 'no'} scheme)`, 'Use the mysql://user:password@host URL from PlanetScale')
  }
  for (const name of ['fetch', 'cast', 'format']) {
    const value = config.options[name]
    if (value !== undefined && typeof value !== 'function') throw configError(config.alias, `option ${name} must be a function`, `Pass the ${name} function or leave it out`)
  }
}

/** The errno and SQLSTATE Vitess puts in its messages, read before `(CallerID: …): Sql: "…"` so SQL text can't fake them. */
function mysqlCodes(message: string): Pick<ErrorInfo, 'errno' | 'sqlState'> {
  const head = message.split('(CallerID:')[0]!
  const codes = [...head.matchAll(/\(errno (\d+)\) \(sqlstate ([0-9A-Z]{5})\)/g)].at(-1)
  if (codes !== undefined) return { errno: Number(codes[1]), sqlState: codes[2]! }
  const errno = /\(errno (\d+)\)/.exec(head)?.[1]
  return errno === undefined ? {} : { errno: Number(errno) }
}

export const planetscaleDriver: Driver = {
  name: 'planetscale',
  validate: checkConfig,
  async connect(config: ResolvedConfig): Promise<DriverClient> {
    checkConfig(config)
    // The driver turns mysql:// into https:// itself and keeps http:// (a local gateway) as it is.
    return new PlanetscaleClient(new Client({ ...(config.options as Config), url: config.url }))
  },
  classify(error: unknown): ErrorInfo {
    const network = classifyNetwork(error)
    if (network !== undefined) return network
    // DatabaseError (and its UnknownError) by shape, so a second copy of the driver package still counts.
    const e = error as { status?: unknown; body?: unknown; message?: unknown } | null
    if (typeof e?.status !== 'number' || typeof e.body !== 'object' || typeof e.message !== 'string') return {}
    const info: ErrorInfo = mysqlCodes(e.message)
    if (e.status === 401 || info.errno === 1045) info.auth = true
    // Too many connections: refused before the statement ran.
    if (info.errno === 1040) Object.assign(info, { transient: true, notSent: true })
    // The server's MySQL connection went away mid-statement (or with the transaction): it may have run.
    if (info.errno === 2006 || info.errno === 2013) info.lostMaybeRun = true
    if (info.errno === 1062) {
      const key = /for key '([^']+)'/.exec(e.message)?.[1]
      if (key !== undefined) info.constraint = key
    }
    return info
  },
}

registerDriver(planetscaleDriver)
