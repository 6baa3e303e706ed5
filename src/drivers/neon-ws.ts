import { Client, Pool, type PoolClient } from '@neondatabase/serverless'
import type { Params, QueryResult, Statement, TransactionOptions } from '../types.js'
import type { Driver, DriverClient, DriverTransaction, ResolvedConfig } from './driver.js'
import { asError, classifyNeon, connectFailure, connectionBroken, sessionError } from './neon-errors.js'
import { runAtomically } from './neon-pipeline.js'
import { beginOn, CLOSE_TIMEOUT_MS, configure, destroyClient, SessionTransaction, socketSettings, type Closable } from './neon-session.js'
import { checkNeonOptions, driverUrl, positional, searchPathSql, toResult } from './neon-shared.js'
import { nextTurn, SETTLE_AFTER_IDLE_MS } from './settle-io.js'

// --- neon-ws: a Pool -----------------------------------------------------------------------------


/** False once the client's WebSocket is closing or closed (`readyState` 2 or 3), which it knows before pg does. */
function socketOpen(client: object): boolean {
  const ws = (client as { connection?: { stream?: { ws?: { readyState?: unknown } | null } } }).connection?.stream?.ws
  return typeof ws?.readyState !== 'number' || ws.readyState <= 1
}

const POOL_OPTIONS = ['max', 'idleTimeoutMillis', 'connectionTimeoutMillis'] as const

/**
 * A `Pool` of WebSocket connections. Every client gets this database's socket settings through
 * `pool.Client` (the Pool ignores a `Client` option), so nothing is set on the global `neonConfig`.
 */
class NeonPoolClient implements DriverClient {
  #closed = false
  #lostIdle = false
  /** Connected clients whose socket has not closed yet. */
  readonly #clients = new Set<PoolClient>()
  #drained: (() => void) | undefined = undefined
  /** When a client was last checked out or given back (performance.now()). */
  #lastActive = 0

  constructor(
    readonly raw: Pool,
    readonly config: ResolvedConfig,
  ) {
    // An idle client whose connection died (a server restart, a Lambda freeze) must not crash the process.
    raw.on('error', () => {
      this.#lostIdle = true
    })
    // Listening to 'connect' also keeps Pool.query on WebSockets even with neonConfig.poolQueryViaFetch.
    raw.on('connect', (client: PoolClient) => {
      this.#lostIdle = false
      this.#clients.add(client)
      client.on('error', () => {}) // a checked-out client that drops fails its query instead
      client.once('end', () => {
        this.#clients.delete(client)
        if (this.#clients.size === 0) this.#drained?.()
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
    if (performance.now() - this.#lastActive >= SETTLE_AFTER_IDLE_MS) await nextTurn()
    for (let attempt = 0; ; attempt++) {
      let client: PoolClient
      try {
        client = await this.raw.connect()
      } catch (error) {
        throw connectFailure(error)
      }
      if (attempt > 1 || socketOpen(client)) {
        this.#lastActive = performance.now()
        return client
      }
      client.release(true)
    }
  }

  toResult(native: unknown): QueryResult {
    return native as QueryResult
  }

  async execute(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    const values = positional(params)
    const client = await this.#checkout()
    let broken: unknown
    try {
      if (schema === undefined) return toResult(await client.query(text, values))
      // Without parameters pg uses the simple protocol (several statements allowed): the
      // search_path goes first in the same message, and the message is one implicit transaction.
      if (values.length === 0) return toResult(await client.query(`${searchPathSql(schema)}; ${text}`))
      const [result] = await runAtomically(client, [{ text, values }], schema)
      return toResult(result!)
    } catch (error) {
      if (connectionBroken(error)) broken = error
      throw asError(error)
    } finally {
      this.#lastActive = performance.now()
      client.release(broken === undefined ? undefined : true)
    }
  }

  async batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]> {
    const bound = statements.map((s) => ({ text: s.text, values: positional(s.params) }))
    if (bound.length === 0) return []
    const client = await this.#checkout()
    let broken: unknown
    try {
      return (await runAtomically(client, bound, schema)).map(toResult)
    } catch (error) {
      if (connectionBroken(error)) broken = error
      throw asError(error)
    } finally {
      this.#lastActive = performance.now()
      client.release(broken === undefined ? undefined : true)
    }
  }

  async begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<DriverTransaction> {
    let client: PoolClient
    try {
      client = await this.#checkout()
    } catch (error) {
      throw sessionError(this.config, error, 'could not open a connection for the transaction')
    }
    try {
      await beginOn(client, options, schema)
    } catch (error) {
      client.release(connectionBroken(error) ? true : undefined)
      throw asError(error)
    }
    return new SessionTransaction(client, (broken) => {
      this.#lastActive = performance.now()
      client.release(broken === undefined ? undefined : true)
    })
  }

  /**
   * Ends the pool and waits until every socket has closed, so nothing is left behind when the
   * function freezes; after CLOSE_TIMEOUT_MS what is left is destroyed (end() can hang on a
   * connection that already dropped). `Pool.end()` alone is not enough: it resolves once the pool
   * has let go of its clients, before their sockets close, so each client's 'end' (its socket's
   * close) is awaited too, then one turn of the event loop, in which the sockets' own close
   * callbacks run: whoever watches them (the platform, a local proxy) has seen them by then.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const drained = this.#clients.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#drained = resolve))
    let timer: ReturnType<typeof setTimeout> | undefined
    const ended = await Promise.race([
      Promise.all([this.raw.end().catch(() => undefined), drained]).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS, false))),
    ])
    clearTimeout(timer)
    if (!ended) for (const client of this.#clients) destroyClient(client as unknown as Closable)
    this.#clients.clear()
    await nextTurn()
  }

  /** False once closed, or once connections died and none is left (the pool saw them go). */
  isAlive(): boolean {
    return !this.#closed && !(this.#lostIdle && this.raw.totalCount === 0)
  }
}

function poolOptions(config: ResolvedConfig): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  for (const name of POOL_OPTIONS) if (config.options[name] !== undefined) options[name] = config.options[name]
  return options
}

export const neonWsDriver: Driver = {
  name: 'neon-ws',
  async connect(config: ResolvedConfig): Promise<DriverClient> {
    checkNeonOptions(config)
    const settings = await socketSettings(config)
    const pool = new Pool({ ...poolOptions(config), connectionString: driverUrl(config.url) })
    pool.Client = class extends Client {
      constructor(...args: ConstructorParameters<typeof Client>) {
        super(...args)
        configure(this, settings)
      }
    }
    const client = new NeonPoolClient(pool, config)
    try {
      await client.open()
    } catch (error) {
      await client.close()
      throw error
    }
    return client
  },
  classify: classifyNeon,
  validate: checkNeonOptions,
}
