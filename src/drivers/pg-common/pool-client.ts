// A pg-pool `Pool` as a lazydb client, for node-postgres (`pg`) and Neon's WebSocket build of it
// (`neon-ws`): lazydb watches each pooled connection's transaction status (pg's ReadyForQuery) so
// that none goes back to the pool inside a transaction, drops a connection the far side closed before
// a statement is given to it, and settles the Pool's queued checkouts when it closes the Pool under
// them (pg-pool's end() leaves them pending forever).
import { LazyDbError } from '../../errors.js'
import type { Params, QueryResult, Statement, TransactionOptions } from '../../types.js'
import { ClientClosedError, type DriverClient, type DriverConfig, type DriverTransaction } from '../contract.js'
import { manualTransactionError } from '../manual-transaction.js'
import { opened } from '../opened.js'
import { poolDefaults, poolMax } from '../pool-defaults.js'
import { nextTurn, SETTLE_AFTER_IDLE_MS, settleIo } from '../settle-io.js'
import { asError, connectFailure, connectionBroken } from './errors.js'
import { runAtomically } from './pipeline.js'
import type { PostgresReaper } from './reaper.js'
import {
  beginOn,
  CLOSE_TIMEOUT_MS,
  destroyClient,
  SessionTransaction,
  type Closable,
  type SessionLike,
} from './session.js'
import { positional, searchPathSql, toResult } from './sql.js'

/** The parts of a pg-pool client (pg's `PoolClient`, Neon's) that lazydb uses. */
export interface PoolClient extends SessionLike {
  release(destroy?: boolean | Error): void
  on(event: 'error', listener: (error: Error) => void): unknown
  once(event: 'end', listener: () => void): unknown
}

/** The parts of a pg-pool `Pool` (pg's, Neon's) that lazydb uses. */
export interface Pool {
  readonly options: object
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
  connect(callback: (error: Error | undefined, client: PoolClient | undefined) => void): void
  end(): Promise<void>
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'connect', listener: (client: PoolClient) => void): unknown
}

/**
 * False once the client's socket is closing or closed, which it knows before pg does: Neon's WebSocket
 * (`readyState` 2 or 3), or node-postgres's TCP socket (destroyed, or its far side has ended it).
 */
function socketOpen(client: object): boolean {
  const stream = (
    client as {
      connection?: { stream?: { ws?: { readyState?: unknown } | null; destroyed?: boolean; readableEnded?: boolean } }
    }
  ).connection?.stream
  const ws = stream?.ws
  if (typeof ws?.readyState === 'number') return ws.readyState <= 1
  return stream?.destroyed !== true && stream?.readableEnded !== true
}

/** What lazydb knows of one pooled connection: its transaction status as the server last reported it. */
interface PooledConnection {
  /** 'I' idle, 'T' in a transaction, 'E' in a failed transaction (ReadyForQuery). */
  status: string
}

/** A pg-pool Pool as a lazydb client. `open()` it before use. */
export class PgPoolClient implements DriverClient {
  readonly raw: Pool
  readonly pooled = true
  readonly #config: DriverConfig
  #closed = false
  #lostIdle = false
  /** Connected clients whose socket has not closed yet. */
  readonly #connections = new Map<PoolClient, PooledConnection>()
  /** Checkouts waiting in the Pool's queue: rejected if the Pool is closed under them. */
  readonly #waiting = new Set<(error: Error) => void>()
  #drained: (() => void) | undefined = undefined
  /** When a client was last checked out or given back (performance.now()). */
  #lastActive = 0

  readonly #reaper: PostgresReaper | undefined

  constructor(raw: Pool, config: DriverConfig, reaper?: PostgresReaper) {
    this.raw = raw
    this.#config = config
    this.#reaper = reaper
    // An idle client whose connection died (a server restart, a Lambda freeze) must not crash the process.
    raw.on('error', () => {
      this.#lostIdle = true
    })
    // Listening to 'connect' also keeps Pool.query on WebSockets even with neonConfig.poolQueryViaFetch.
    raw.on('connect', (client: PoolClient) => {
      this.#lostIdle = false
      const state: PooledConnection = { status: 'I' }
      this.#connections.set(client, state)
      const connection = (
        client as unknown as { connection?: { on?(event: string, fn: (msg: { status?: string }) => void): void } }
      ).connection
      connection?.on?.('readyForQuery', (msg) => {
        if (typeof msg?.status === 'string') state.status = msg.status
      })
      client.on('error', () => {}) // a checked-out client that drops fails its query instead
      client.once('end', () => {
        this.#connections.delete(client)
        if (this.#connections.size === 0) this.#drained?.()
      })
    })
  }

  /** Opens the first connection and puts it back in the pool for the first query. */
  async open(): Promise<void> {
    const client = await this.#checkout()
    client.release()
  }

  /**
   * An idle client whose socket the far side already closed (seen by the WebSocket, not yet by pg:
   * pg hears of it a loop phase later, after a thaw often only after the next query was handed to
   * it) is dropped here, before a statement is given to it; the pool then opens a fresh one.
   */
  async #checkout(): Promise<PoolClient> {
    // After a pause (a freeze, a quiet spell) the far side's close may be waiting unread: let the
    // I/O already received run first, so the check below sees it. Busy clients never wait here.
    if (performance.now() - this.#lastActive >= SETTLE_AFTER_IDLE_MS) await settleIo()
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ClientClosedError()
      let client: PoolClient
      try {
        client = await this.#connect()
      } catch (error) {
        throw error instanceof ClientClosedError ? error : connectFailure(error)
      }
      if (attempt > 1 || socketOpen(client)) {
        this.#lastActive = performance.now()
        if (this.#reaper !== undefined) await this.#reaper.maybeReap(client)
        return client
      }
      client.release(true)
    }
  }

  /** `pool.connect()`, registered until it settles, so a close can settle a checkout still queued in the Pool. */
  #connect(): Promise<PoolClient> {
    const pool = this.raw
    // Every connection checked out: this checkout waits in the Pool's queue for one to come back.
    const queued = pool.idleCount === 0 && pool.totalCount >= ((pool.options as { max?: number }).max ?? 10)
    return new Promise<PoolClient>((resolve, reject) => {
      const settle = (error: Error) => {
        this.#waiting.delete(settle)
        reject(error)
      }
      this.#waiting.add(settle)
      pool.connect((error: Error | undefined, client: PoolClient | undefined) => {
        if (!this.#waiting.delete(settle)) return client?.release(true) // settled by a close meanwhile
        if (error === undefined && client !== undefined) resolve(client)
        else reject(queued && /timeout exceeded/.test(String(error?.message)) ? this.#exhausted(error) : error)
      })
    })
  }

  /**
   * A checkout that waited connectionTimeoutMillis in the Pool's queue: every connection stayed in use
   * that long. Not a connect failure, and not worth retrying (the same wait would follow).
   */
  #exhausted(cause: unknown): LazyDbError {
    const waited = (this.raw.options as { connectionTimeoutMillis?: number }).connectionTimeoutMillis
    return new LazyDbError(
      'TIMEOUT',
      `database "${this.#config.alias}" (${this.#config.driver}): every pooled connection stayed in use ` +
        `for ${waited} ms, so the statement did not run. A transaction whose fn uses db instead of tx holds ` +
        'one and waits for another; otherwise raise max or connectionTimeoutMillis',
      { database: this.#config.alias, mayHaveRun: false, cause },
    )
  }

  /**
   * Gives a client back, never inside a transaction: a connection left in one (a manual BEGIN) is
   * rolled back first, or destroyed if that fails. Says whether it had been left in a transaction.
   */
  #giveBack(client: PoolClient, broken: boolean): boolean | Promise<boolean> {
    this.#lastActive = performance.now()
    const status = this.#connections.get(client)?.status ?? 'I'
    if (broken) {
      destroyClient(client as unknown as Closable) // at once, even under a statement still running
      client.release(true)
      return false
    }
    // The warm path: given back in the same turn, no promise of its own.
    if (status === 'I') {
      client.release(this.#reaper?.crowded === true ? true : undefined)
      return false
    }
    return this.#rollBackThenGiveBack(client)
  }

  async #rollBackThenGiveBack(client: PoolClient): Promise<boolean> {
    try {
      await client.query('ROLLBACK')
      client.release(this.#connections.get(client)?.status === 'I' ? undefined : true)
    } catch {
      client.release(true)
    }
    return true
  }

  toResult(native: unknown): QueryResult {
    return native as QueryResult
  }

  async execute(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    const values = positional(params)
    const client = await this.#checkout()
    let result: QueryResult
    try {
      if (schema === undefined) result = toResult(await client.query(text, values))
      // Without parameters pg uses the simple protocol (several statements allowed): the
      // search_path goes first in the same message, and the message is one implicit transaction.
      else if (values.length === 0) result = toResult(await client.query(`${searchPathSql(schema)}; ${text}`))
      else result = toResult((await runAtomically(client, [{ text, values }], schema))[0]!)
    } catch (error) {
      await this.#giveBack(client, connectionBroken(error))
      throw asError(error)
    }
    const leftOpen = this.#giveBack(client, false)
    if (leftOpen !== false && (await leftOpen)) throw manualTransactionError(this.#config, true)
    return result
  }

  async batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]> {
    const bound = statements.map((s) => ({ text: s.text, values: positional(s.params) }))
    if (bound.length === 0) return []
    const client = await this.#checkout()
    let results: QueryResult[]
    try {
      results = (await runAtomically(client, bound, schema)).map(toResult)
    } catch (error) {
      await this.#giveBack(client, connectionBroken(error))
      throw asError(error)
    }
    const leftOpen = this.#giveBack(client, false)
    if (leftOpen !== false && (await leftOpen)) throw manualTransactionError(this.#config, true)
    return results
  }

  async begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<DriverTransaction> {
    const client = await this.#checkout()
    try {
      await beginOn(client, options, schema)
    } catch (error) {
      await this.#giveBack(client, connectionBroken(error))
      throw asError(error)
    }
    return new SessionTransaction(client, async (broken) => {
      await this.#giveBack(client, broken !== undefined)
    })
  }

  /**
   * Ends the pool and waits until every socket has closed, so nothing is left behind when the
   * function freezes. With `force`, queued checkouts are rejected at once and what is still
   * connected is destroyed; otherwise after CLOSE_TIMEOUT_MS (end() can hang on a connection that
   * already dropped). `Pool.end()` resolves once the pool lets go of its clients, before their
   * sockets close, so each client's 'end' is awaited too, then one turn of the event loop, in which
   * the sockets' own close callbacks run: whoever watches them (the platform, a proxy) has seen them.
   */
  async close(force: boolean): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const closedError = new ClientClosedError()
    for (const settle of [...this.#waiting]) settle(closedError)
    // Checkouts queued in the Pool by code using it directly (an ORM on client()): once end() is
    // called the Pool serves none of them and rejects none, so let them be served first (each is
    // bounded by connectionTimeoutMillis), or, forced, reject them now.
    if (!force) await this.#queueServed(QUEUE_SERVED_WITHIN_MS)
    settlePoolQueue(this.raw, closedError)
    const drained =
      this.#connections.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#drained = resolve))
    if (force) for (const client of this.#connections.keys()) destroyClient(client as unknown as Closable)
    let timer: ReturnType<typeof setTimeout> | undefined
    const ended = await Promise.race([
      Promise.all([this.raw.end().catch(() => undefined), drained]).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, force ? 50 : CLOSE_TIMEOUT_MS, false))),
    ])
    clearTimeout(timer)
    if (!ended) for (const client of this.#connections.keys()) destroyClient(client as unknown as Closable)
    this.#connections.clear()
    await nextTurn()
  }

  async #queueServed(withinMs: number): Promise<void> {
    const deadline = performance.now() + withinMs
    while (this.raw.waitingCount > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  }

  /** False once closed or ended (by lazydb or by a user's `pool.end()`), or once every connection died. */
  isAlive(): boolean {
    const pool = this.raw as Pool & { ending?: boolean; ended?: boolean }
    return !this.#closed && pool.ending !== true && pool.ended !== true && !(this.#lostIdle && pool.totalCount === 0)
  }

  /** True while the Pool has connections checked out or checkouts waiting (an ORM's work through client()). */
  inUse(): boolean {
    return this.raw.totalCount > this.raw.idleCount || this.raw.waitingCount > 0
  }
}

/**
 * How long a checkout may wait for a connection (queued behind busy ones, or connecting) unless the
 * database sets `connectionTimeoutMillis`: pg-pool's own default waits forever, so a transaction's fn
 * that uses `db` instead of `tx` on a full pool, or a server that accepts and never answers, would hang.
 */
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000
/** How long a graceful close lets the Pool serve checkouts still queued in it. */
const QUEUE_SERVED_WITHIN_MS = 30_000

/** The Pool's settings: the database's own, else the platform's defaults (pool-defaults.ts). */
export function poolOptions(config: DriverConfig): {
  max: number
  idleTimeoutMillis: number
  connectionTimeoutMillis: number
} {
  const given = config.options as { idleTimeoutMillis?: number; connectionTimeoutMillis?: number }
  return {
    max: poolMax(config),
    idleTimeoutMillis: given.idleTimeoutMillis ?? poolDefaults(config).idleTimeoutMillis,
    connectionTimeoutMillis: given.connectionTimeoutMillis ?? DEFAULT_CONNECTION_TIMEOUT_MS,
  }
}

/**
 * Rejects what still waits in the Pool's own queue. pg-pool keeps it in `_pendingQueue` and offers no
 * way to settle it once ended; this reads that field, and does nothing if a version lacks it.
 */
function settlePoolQueue(pool: Pool, error: Error): void {
  const queue = (pool as unknown as { _pendingQueue?: { callback?: (error: Error) => void }[] })._pendingQueue
  if (!Array.isArray(queue)) return
  for (const waiter of queue.splice(0)) {
    try {
      waiter.callback?.(error)
    } catch {}
  }
}

/** A PgPoolClient on `pool` with its first connection open; the pool is closed again if that fails. */
export function openPoolClient(pool: Pool, config: DriverConfig, reaper?: PostgresReaper): Promise<PgPoolClient> {
  return opened(new PgPoolClient(pool, config, reaper))
}
