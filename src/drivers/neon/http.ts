import { neon as neonHttp, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless'
import { LazyDbError } from '../../errors.js'
import type { Params, QueryResult, Statement, TransactionOptions } from '../../types.js'
import type { Driver, DriverClient, DriverConfig, DriverTransaction } from '../contract.js'
import { manualTransactionError, opensTransaction } from '../manual-transaction.js'
import { asError, classifyPostgres } from '../pg-common/errors.js'
import { checkNeonOptions } from './options.js'
import { beginOn, endClient, SessionTransaction } from '../pg-common/session.js'
import { openSession, socketSettings } from './socket.js'
import { driverUrl, positional, searchPathValue, SET_SEARCH_PATH, toResult, type ResultLike } from '../pg-common/sql.js'

type Sql = NeonQueryFunction<false, true>

/** The settings the driver reads from the global `neonConfig` only, never per query function. */
const GLOBAL_ONLY = ['fetchEndpoint', 'fetchFunction'] as const
type Globals = Partial<Record<(typeof GLOBAL_ONLY)[number], unknown>>

/** Global-only values lazydb installed as the process-wide default (where none was set). */
const installed = new Map<string, unknown>()

/** No database set a global-only option: queries go out as they are, with no swap. */
const noGlobals = (globals: Globals | undefined): boolean => globals === undefined && installed.size === 0

/**
 * Puts this database's global-only settings in place and returns what they replaced. The driver
 * reads them synchronously as a query starts, so they are swapped in for that instant and put
 * back: databases with different endpoints in one process each reach their own, and a database
 * without one does not pick up the default another database installed.
 */
function swapIn(globals: Globals | undefined): unknown[] {
  const opts = neonConfig.opts as Record<string, unknown>
  const saved = GLOBAL_ONLY.map((name) => opts[name])
  for (const name of GLOBAL_ONLY) {
    const own = globals?.[name]
    if (own !== undefined) opts[name] = own
    else if (installed.has(name) && opts[name] === installed.get(name)) opts[name] = undefined
  }
  return saved
}

function restore(saved: unknown[]): void {
  const opts = neonConfig.opts as Record<string, unknown>
  GLOBAL_ONLY.forEach((name, i) => {
    opts[name] = saved[i]
  })
}

/** Sends the driver's lazy query (its `then` sends it) with the database's globals in place. */
function send<T>(globals: Globals | undefined, query: PromiseLike<T>): PromiseLike<T> {
  if (noGlobals(globals)) return query
  const saved = swapIn(globals)
  try {
    return query.then()
  } finally {
    restore(saved)
  }
}

/** `sql.transaction` starts at once (not lazily), so the call itself runs inside the swap. */
function sendTransaction(
  globals: Globals | undefined,
  sql: Sql,
  queries: Parameters<Sql['transaction']>[0] & unknown[],
): Promise<ResultLike[]> {
  if (noGlobals(globals)) return sql.transaction(queries) as Promise<ResultLike[]>
  const saved = swapIn(globals)
  try {
    return sql.transaction(queries) as Promise<ResultLike[]>
  } finally {
    restore(saved)
  }
}

/**
 * neon-http: the driver's HTTP query function, made once and kept warm. One POST per `query`;
 * `batch` is `sql.transaction([...])` (one POST); a schema rides in the same transaction as a
 * `set_config('search_path', …, true)` (still one POST); `transaction(fn)` runs on a short-lived
 * WebSocket session, since HTTP holds none.
 */
class NeonHttpClient implements DriverClient {
  readonly raw: Sql
  readonly #config: DriverConfig
  readonly #url: string
  readonly #globals: Globals | undefined

  constructor(raw: Sql, config: DriverConfig, url: string, globals: Globals | undefined) {
    this.raw = raw
    this.#config = config
    this.#url = url
    this.#globals = globals
  }

  toResult(native: unknown): QueryResult {
    return native as QueryResult
  }

  async execute(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    if (opensTransaction(text)) throw manualTransactionError(this.#config, false)
    const sql = this.raw
    const values = positional(params)
    if (schema === undefined) return toResult(await send(this.#globals, sql.query(text, values)))
    const results = await sendTransaction(this.#globals, sql, [
      sql.query(SET_SEARCH_PATH, [searchPathValue(schema)]),
      sql.query(text, values),
    ])
    return toResult(results[1]!)
  }

  async batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]> {
    const sql = this.raw
    const queries = statements.map((s) => sql.query(s.text, positional(s.params)))
    if (queries.length === 0) return []
    if (schema !== undefined) queries.unshift(sql.query(SET_SEARCH_PATH, [searchPathValue(schema)]))
    const results = await sendTransaction(this.#globals, sql, queries)
    return results.slice(schema === undefined ? 0 : 1).map(toResult)
  }

  async begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<DriverTransaction> {
    let settings: Awaited<ReturnType<typeof socketSettings>>
    try {
      settings = await socketSettings(this.#config)
    } catch (error) {
      throw new LazyDbError(
        'TRANSACTION_UNSUPPORTED',
        `database "${this.#config.alias}" (neon-http): an interactive transaction needs a WebSocket session, ` +
          'and this runtime has none (no global WebSocket, ws not installed). Run npm install ws, ' +
          'pass { webSocketConstructor }, or use batch() for a one-request transaction',
        { database: this.#config.alias, cause: error },
      )
    }
    // transaction() over HTTP runs on a short-lived WebSocket session; a failure to open it is a
    // connect failure (retried by lazydb like any other), marked so by openSession.
    const { client, isDead } = await openSession(this.#url, settings)
    try {
      await beginOn(client, options, schema)
    } catch (error) {
      await endClient(client, isDead())
      throw asError(error)
    }
    return new SessionTransaction(client, (broken) => endClient(client, broken !== undefined || isDead()))
  }

  async close(): Promise<void> {
    // Stateless: nothing is held between requests; each transaction's session ends with it.
  }
}

export const neonHttpDriver: Driver = {
  name: 'neon-http',
  async connect(config: DriverConfig): Promise<DriverClient> {
    checkNeonOptions(config)
    const { authToken, fetchOptions } = config.options
    const url = driverUrl(config.url)
    const raw = neonHttp(url, {
      fullResults: true,
      arrayMode: false,
      ...(authToken === undefined ? {} : { authToken: authToken as string }),
      ...(fetchOptions === undefined ? {} : { fetchOptions: fetchOptions as Record<string, unknown> }),
    })
    let globals: Globals | undefined
    for (const name of GLOBAL_ONLY) {
      const value = config.options[name]
      if (value === undefined) continue
      ;(globals ??= {})[name] = value
      // Also the process-wide default, for code handed the raw function (client()), unless one is set.
      const opts = neonConfig.opts as Record<string, unknown>
      if (opts[name] === undefined) {
        opts[name] = value
        installed.set(name, value)
      }
    }
    return new NeonHttpClient(raw, config, url, globals)
  },
  classify: classifyPostgres,
  validate: checkNeonOptions,
}
