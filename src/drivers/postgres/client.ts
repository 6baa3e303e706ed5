// The postgres.js pool behind the driver contract. Statements go to the pool (`sql.unsafe(text, params)`),
// whose own check keeps a connection from going back inside a transaction: a statement that leaves one
// open is rolled back and refused (UNSAFE_TRANSACTION). postgres.js skips that check with `max: 1`,
// so there a statement that may open one runs on a reserved connection and is checked after.
// Transactions and the checked statements run on reserved connections (`sql.reserve()`), which
// postgres.js closes instead of pooling when they are released inside a transaction.
import type { ReservedSql, Sql } from 'postgres'
import { LazyDbError } from '../../errors.js'
import type { Params, QueryResult, Statement, TransactionOptions } from '../../types.js'
import { ClientClosedError, type DriverClient, type DriverConfig, type DriverTransaction } from '../contract.js'
import { manualTransactionError } from '../manual-transaction.js'
import type { PostgresReaper } from '../pg-common/reaper.js'
import type { SessionLike } from '../pg-common/session.js'
import { beginStatement, positional, searchPathSql, searchPathValue, SET_SEARCH_PATH } from '../pg-common/sql.js'
import { nextTurn, SETTLE_AFTER_IDLE_MS, settleIo } from '../settle-io.js'
import { isUnsafeTransaction } from './errors.js'
import { type Native, toResult } from './result.js'
import { PostgresJsTransaction } from './transaction.js'

type AnySql = Sql<Record<string, unknown>> | ReservedSql<Record<string, unknown>>

/** Seconds a graceful close lets running queries finish before their connections are destroyed. */
const CLOSE_TIMEOUT_S = 5

/**
 * A text that may open a transaction anywhere in it (BEGIN, START TRANSACTION, with whitespace or comments
 * between the two words): false positives only cost a check.
 */
const MAY_OPEN = /\b(?:begin|start(?:\s|\/\*[\s\S]*?\*\/|--[^\n]*(?:\n|$))+transaction)\b/i

export class PostgresJsClient implements DriverClient {
  readonly raw: Sql
  readonly pooled = true
  readonly #config: DriverConfig
  readonly #sql: Sql<Record<string, unknown>>
  /** Query options for lazydb's statements: prepared as the pool is (`prepare`). */
  readonly #prepare: { prepare: boolean }
  /** postgres.js lets a statement leave a transaction open only with `max: 1`: lazydb checks those. */
  readonly #single: boolean
  #closed = false
  #ending: Promise<void> | undefined
  /** The pool was ended by someone else (`client().end()`): it refuses everything now. */
  #endedElsewhere = false
  /** Reservations waiting for a connection: withdrawn and settled if the client is closed under them. */
  readonly #waiting = new Set<(error: Error) => void>()
  #lastActive = 0

  readonly #reaper: PostgresReaper | undefined
  /** The pool as the reaper's session: each of its statements runs on whichever connection is free. */
  readonly #reaperSession = {
    query: async (text: string, values?: unknown[]) => ({
      rows: await this.#sql.unsafe(text, (values ?? []) as never[]),
    }),
  }

  constructor(raw: Sql, config: DriverConfig, reaper?: PostgresReaper) {
    this.raw = raw
    this.#reaper = reaper
    this.#sql = raw as unknown as Sql<Record<string, unknown>>
    this.#config = config
    const options = raw.options as { prepare?: boolean; max?: number }
    this.#prepare = { prepare: options.prepare !== false }
    this.#single = options.max === 1
  }

  /** Opens the first connection (no statement) so that a connect failure surfaces as one. */
  async open(): Promise<void> {
    const reserved = await this.#reserve()
    reserved.release()
    this.#lastActive = performance.now()
  }

  toResult(native: unknown): QueryResult {
    return toResult(native)
  }

  async execute(text: string, params: Params | undefined, schema: string | undefined): Promise<unknown> {
    const values = positional(params)
    const settling = this.#settle()
    if (settling !== undefined) await settling
    if (this.#reaper !== undefined) await this.#reaper.maybeReap(this.#reaperSession as unknown as SessionLike)
    if (this.#single && MAY_OPEN.test(text)) return this.#checked((sql) => this.#run(sql, text, values, schema))
    let query: Promise<Native> | undefined
    try {
      query = this.#run(this.#sql, text, values, schema)
      return await query
    } catch (error) {
      throw this.#error(error, query)
    } finally {
      this.#lastActive = performance.now()
    }
  }

  /**
   * One statement; with a schema, inside one implicit transaction with the schema's search_path set
   * for it only: without parameters, one simple-protocol message; with them, a batch (one Sync).
   */
  #run(sql: AnySql, text: string, values: unknown[], schema: string | undefined): Promise<Native> {
    if (schema === undefined) return sql.unsafe(text, values as never[], this.#prepare) as Promise<Native>
    if (values.length === 0) return sql.unsafe(`${searchPathSql(schema)}; ${text}`) as Promise<Native>
    return sql
      .batch([
        sql.unsafe(SET_SEARCH_PATH, [searchPathValue(schema)], this.#prepare),
        sql.unsafe(text, values as never[], this.#prepare),
      ])
      .then((results) => results[1] as Native)
  }

  async batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]> {
    const bound = statements.map((s) => ({ text: s.text, values: positional(s.params) as never[] }))
    if (bound.length === 0) return []
    const settling = this.#settle()
    if (settling !== undefined) await settling
    // The extended protocol for every statement (simple: false): the batch's single Sync then makes them
    // one implicit transaction, and a set_config(…, true) among them holds until it and no longer.
    const run = async (sql: AnySql) => {
      const options = { ...this.#prepare, simple: false }
      const queries = bound.map((s) => sql.unsafe(s.text, s.values, options))
      if (schema !== undefined) queries.unshift(sql.unsafe(SET_SEARCH_PATH, [searchPathValue(schema)], options))
      const results = (await sql.batch(queries)) as unknown as Native[]
      return results.slice(schema === undefined ? 0 : 1).map(toResult)
    }
    if (this.#single && bound.some((s) => MAY_OPEN.test(s.text))) return this.#checked(run)
    try {
      return await run(this.#sql)
    } catch (error) {
      throw this.#error(error)
    } finally {
      this.#lastActive = performance.now()
    }
  }

  async begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<DriverTransaction> {
    const settling = this.#settle()
    if (settling !== undefined) await settling
    const reserved = await this.#reserve()
    const begin = beginStatement(options)
    try {
      await reserved.unsafe(schema === undefined ? begin : `${begin}; ${searchPathSql(schema)}`)
    } catch (error) {
      reserved.release() // postgres.js closes it rather than pool it if the BEGIN went through
      throw error
    }
    return new PostgresJsTransaction(reserved, this.#prepare, () => {
      this.#lastActive = performance.now()
    })
  }

  /**
   * Runs work on a reserved connection, then asks the server whether it left a transaction open
   * (only with `max: 1`, where postgres.js lets it): if so, rolls it back and reports it.
   */
  async #checked<T>(run: (sql: ReservedSql<Record<string, unknown>>) => Promise<T>): Promise<T> {
    const reserved = await this.#reserve()
    try {
      let result: T
      try {
        result = await run(reserved)
      } catch (error) {
        await rollBackIfOpen(reserved)
        throw this.#error(error)
      }
      if (await rollBackIfOpen(reserved)) throw manualTransactionError(this.#config, true)
      return result
    } finally {
      reserved.release()
      this.#lastActive = performance.now()
    }
  }

  /** `sql.reserve()`, withdrawn and settled with ClientClosedError if the client closes while it waits. */
  #reserve(): Promise<ReservedSql<Record<string, unknown>>> {
    if (this.#closed) return Promise.reject(new ClientClosedError())
    const leasing = this.#sql.reserve()
    return new Promise((resolve, reject) => {
      const settle = (error: Error) => {
        this.#waiting.delete(settle)
        void leasing.cancel().catch(() => undefined)
        reject(error)
      }
      this.#waiting.add(settle)
      leasing.then(
        (reserved) => {
          if (this.#waiting.delete(settle)) resolve(reserved)
          else reserved.release() // settled by a close meanwhile
        },
        (error: unknown) => {
          if (this.#waiting.delete(settle)) reject(this.#error(error))
        },
      )
    })
  }

  /**
   * After a pause (a freeze, a quiet spell) a close by the far side may wait unread: the I/O already
   * received runs first, so postgres.js drops that connection before a statement goes to it. Busy, no wait.
   */
  #settle(): Promise<void> | undefined {
    return performance.now() - this.#lastActive >= SETTLE_AFTER_IDLE_MS ? settleIo() : undefined
  }

  /** What a postgres.js error becomes in the contract's terms; `query` is the statement's, where known. */
  #error(error: unknown, query?: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code
    if (isUnsafeTransaction(error)) return manualTransactionError(this.#config, true)
    if (code === 'QUEUE_TIMEOUT') return this.#exhausted(error)
    if (code === 'CONNECTION_ENDED') {
      // Refused unsent: after lazydb's close, or because the pool was ended by code using client().
      if (this.#closed) return new ClientClosedError()
      this.#endedElsewhere = true
    }
    // Rejected by the close while it waited in the pool's queue: it never reached a connection.
    if (code === 'CONNECTION_DESTROYED' && this.#closed && neverHandedOver(query)) return new ClientClosedError()
    return error
  }

  /** A statement that waited queue_timeout for a connection: every one stayed in use that long. */
  #exhausted(cause: unknown): LazyDbError {
    const waited = (this.raw.options as { queue_timeout?: number }).queue_timeout
    return new LazyDbError(
      'TIMEOUT',
      `database "${this.#config.alias}" (postgres): every pooled connection stayed in use for ${waited} s, so the ` +
        'statement did not run. A transaction whose fn uses db instead of tx holds one and waits for another; ' +
        'otherwise raise max or queue_timeout',
      { database: this.#config.alias, mayHaveRun: false, cause },
    )
  }

  /**
   * Ends the pool: `sql.end()` refuses new queries, lets running ones finish (forced: none; otherwise
   * for CLOSE_TIMEOUT_S), rejects what still waits for a connection and closes every socket before it
   * resolves. Reservations lazydb is waiting for are settled with ClientClosedError first. A second
   * call waits for the first: postgres.js keeps the first end()'s timeout, so a forced close that
   * follows a graceful one still in progress is bounded by CLOSE_TIMEOUT_S, not immediate.
   */
  close(force: boolean): Promise<void> {
    this.#ending ??= this.#end(force)
    return this.#ending
  }

  async #end(force: boolean): Promise<void> {
    this.#closed = true
    const closed = new ClientClosedError()
    for (const settle of [...this.#waiting]) settle(closed)
    await this.raw.end({ timeout: force ? 0 : CLOSE_TIMEOUT_S }).catch(() => undefined)
    await nextTurn()
  }

  /** False once closed by lazydb or ended by code using client(); a lost connection is the pool's to replace. */
  isAlive(): boolean {
    return !this.#closed && !this.#endedElsewhere
  }

  /** True while the pool has connections busy or leased, or queries waiting (an ORM's work through client()). */
  inUse(): boolean {
    const stats = this.#sql.stats
    return stats.connections > stats.idle || stats.waiting > 0
  }
}

/**
 * Whether a postgres.js query was never given to a connection: its `connection` field (set when the pool
 * hands it to one) is still unset. Undocumented, so a version without the field counts as handed over.
 */
function neverHandedOver(query: unknown): boolean {
  return typeof query === 'object' && query !== null && 'connection' in query && query.connection === undefined
}

/**
 * Whether the reserved connection is inside a transaction, which it then rolls back. `SAVEPOINT` answers
 * 25P01 outside a transaction block, succeeds inside one, and 25P02 inside a failed one.
 */
async function rollBackIfOpen(reserved: ReservedSql<Record<string, unknown>>): Promise<boolean> {
  try {
    await reserved.unsafe('SAVEPOINT lazydb_probe')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code !== '25P02') return false
  }
  // Failing, the connection is released inside the transaction, which postgres.js closes rather than pools.
  await reserved.unsafe('ROLLBACK').catch(() => undefined)
  return true
}
