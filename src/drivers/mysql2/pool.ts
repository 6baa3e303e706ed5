// mysql2: a mysql2/promise Pool, which client() hands out. lazydb works on the callback pool inside
// it (`pool.pool`) to check each connection before use, to see what each statement left on its
// session (the server's status flags), and to settle every queued checkout when it closes the pool.
import type { Pool } from 'mysql2/promise'
import { LazyDbError } from '../../errors.js'
import type { Params, QueryResult, Statement, TransactionOptions } from '../../types.js'
import { ClientClosedError, type DriverClient, type DriverConfig, type DriverTransaction } from '../contract.js'
import { manualTransactionError, opensTransaction } from '../manual-transaction.js'
import { nextTurn, SETTLE_AFTER_IDLE_MS, settleIo } from '../settle-io.js'
import { type CoreConnection, type CorePool, destroyNow, run, socketClosed, toArray, usable } from './connection.js'
import { connectFailure, connectionBroken } from './errors.js'
import type { PoolSettings } from './options.js'
import { isolationStatement, sessionLeft, startStatement, toResult, useStatement } from './sql.js'
import type { MysqlReaper } from './reaper.js'
import { Mysql2Transaction } from './transaction.js'
import { statementsIn } from '../transaction-sql.js'

/** What a failed statement left on its session: not known (it reports no status flags). */
const UNKNOWN = Symbol('unknown session state')

/** How long a graceful close waits for connections to quit before it destroys their sockets. */
const CLOSE_TIMEOUT_MS = 1000

export class Mysql2PoolClient implements DriverClient {
  readonly raw: Pool
  readonly pooled = true
  readonly #core: CorePool
  readonly #config: DriverConfig
  readonly #settings: PoolSettings
  /** The URL's database: what a connection is switched back to after a statement bound to a schema. */
  readonly #database: string
  #closed = false
  /** Checkouts of lazydb's waiting for a connection: rejected if the pool is closed under them. */
  readonly #waiting = new Set<(error: Error) => void>()
  /** Connections whose session lazydb cannot put back as it was: destroyed rather than given back. */
  readonly #spoiled = new WeakSet<CoreConnection>()
  /** When a connection was last checked out or given back (performance.now()). */
  #lastActive = 0
  #idleCloser: ReturnType<typeof setInterval> | undefined
  readonly #fleetReaper: MysqlReaper | undefined

  constructor(raw: Pool, config: DriverConfig, settings: PoolSettings, database: string, reaper?: MysqlReaper) {
    this.raw = raw
    this.#fleetReaper = reaper
    this.#core = (raw as unknown as { pool: CorePool }).pool
    this.#config = config
    this.#settings = settings
    this.#database = database
    // mysql2 emits 'error' on a pooled connection the server closed (KILL, wait_timeout, a restart) and
    // listens only once itself: a second one, unheard, would crash the process.
    this.#core.on('connection', (connection) => {
      connection.on('error', () => {})
      // Queued before anything else the connection runs: the server ends it once idle past serverIdleMs.
      if (reaper !== undefined) connection.query({ sql: reaper.sessionStatement() }, undefined, () => {})
    })
    const idle = settings.idleTimeoutMillis
    if (idle > 0) {
      this.#idleCloser = setInterval(() => this.#closeIdle(idle), Math.min(1000, Math.max(10, idle / 2)))
      ;(this.#idleCloser as { unref?: () => void }).unref?.()
    }
  }

  /** Opens the first connection and gives it back, so that a failure surfaces as a connect failure. */
  async open(): Promise<void> {
    const connection = await this.#checkout()
    connection.release()
  }

  /** Closes connections idle past idleTimeoutMillis (mysql2's own timer runs only when maxIdle < limit). */
  #closeIdle(idleMs: number): void {
    const now = Date.now()
    for (const connection of toArray(this.#core._freeConnections)) {
      if (now - (connection.lastActiveTime ?? now) <= idleMs) continue
      // mysql2's gracefulEnd: end() takes a pooled connection out and sends COM_QUIT; else its socket just closes.
      if (this.#config.options.gracefulEnd === true) connection.end()
      else connection.destroy()
    }
  }

  /**
   * A pooled connection whose socket the server already closed (KILL, wait_timeout, a freeze) is
   * dropped here, before a statement is given to it; the pool then opens a fresh one.
   */
  async #checkout(): Promise<CoreConnection> {
    // After a pause the server's close may be waiting unread: let received I/O run first, so that
    // mysql2 takes such a connection out of the pool. Busy pools never wait here.
    if (performance.now() - this.#lastActive >= SETTLE_AFTER_IDLE_MS) await settleIo()
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ClientClosedError()
      const connection = await this.#connect()
      if (attempt > 1 || usable(connection)) {
        this.#lastActive = performance.now()
        if (this.#fleetReaper !== undefined) await this.#fleetReaper.maybeReap(connection)
        return connection
      }
      destroyNow(connection)
    }
  }

  /** `getConnection()`, registered until it settles, so that a close or the acquire timeout can settle it. */
  #connect(): Promise<CoreConnection> {
    const core = this.#core
    // Every connection checked out: this checkout waits in the pool's queue, which has no timeout.
    const queued = core._freeConnections.length === 0 && core._allConnections.length >= core.config.connectionLimit
    return new Promise<CoreConnection>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const settle = (error: Error) => {
        this.#waiting.delete(settle)
        clearTimeout(timer)
        reject(error)
      }
      this.#waiting.add(settle)
      if (queued) timer = setTimeout(() => settle(this.#exhausted()), this.#settings.acquireTimeoutMillis)
      core.getConnection((error, connection) => {
        // Settled meanwhile (closed, or waited too long): a connection that comes later goes back at once.
        if (!this.#waiting.delete(settle)) return connection?.release()
        clearTimeout(timer)
        if (error === null && connection !== undefined) resolve(connection)
        else reject(this.#closed ? new ClientClosedError() : connectFailure(error))
      })
    })
  }

  /** A checkout that waited acquireTimeoutMillis: every connection stayed in use. Not worth retrying. */
  #exhausted(): LazyDbError {
    const { alias } = this.#config
    return new LazyDbError(
      'TIMEOUT',
      `database "${alias}" (mysql2): every pooled connection (max ${this.#settings.max}) stayed in use for ` +
        `${this.#settings.acquireTimeoutMillis} ms, so the statement did not run. A transaction whose fn uses db ` +
        'instead of tx holds one and waits for another; otherwise raise max or acquireTimeoutMillis',
      { database: alias, mayHaveRun: false },
    )
  }

  /**
   * Gives a connection back, never inside a transaction or with session state lazydb set: one left in
   * a transaction (a BEGIN sent as a statement) is rolled back first, or destroyed if that fails; one
   * with autocommit turned off, or switched to a database lazydb cannot switch back from, is destroyed.
   * Says whether the statement had left a transaction open (or autocommit off).
   */
  readonly #giveBack = async (connection: CoreConnection, broken: boolean, lastRows?: unknown): Promise<boolean> => {
    this.#lastActive = performance.now()
    if (broken || this.#spoiled.has(connection)) {
      destroyNow(connection)
      return false
    }
    const left = lastRows === UNKNOWN ? 'unknown' : sessionLeft(lastRows)
    if (left === 'clean') {
      if (this.#fleetReaper?.crowded === true) destroyNow(connection)
      else connection.release()
      return false
    }
    if (left === 'autocommit-off') {
      destroyNow(connection)
      return true
    }
    try {
      const [rows] = await run(connection, 'ROLLBACK')
      if (sessionLeft(rows) === 'clean') connection.release()
      else destroyNow(connection)
    } catch {
      destroyNow(connection)
    }
    return left !== 'unknown'
  }

  /** Whether a failed statement may have opened a transaction before it failed: a CALL, or several statements. */
  #mayOpenUnseen(text: string): boolean {
    return this.#config.options.multipleStatements === true || /^\s*call\b/i.test(text)
  }

  /**
   * Ends the transaction lazydb opened on `connection`: switches it back to the URL's database first
   * (inside the transaction, so that a transaction-mode pooler gives the same server connection back
   * as it was), then COMMIT or ROLLBACK. Resolves to the last statement's rows (its status flags).
   */
  #ender(schema: string | undefined) {
    return async (connection: CoreConnection, end: 'COMMIT' | 'ROLLBACK'): Promise<unknown> => {
      if (schema !== undefined) {
        if (this.#database === '')
          this.#spoiled.add(connection) // no database to go back to: USE can't be undone
        else await run(connection, useStatement(this.#database))
      }
      return (await run(connection, end))[0]
    }
  }

  toResult(native: unknown): QueryResult {
    return native as QueryResult
  }

  /**
   * One statement on a pooled connection. Bound to a schema, it runs in a transaction of its own:
   * START TRANSACTION, USE schema, the statement, USE the URL's database, COMMIT (ROLLBACK if it failed).
   */
  async execute(text: string, params: Params | undefined, schema: string | undefined): Promise<QueryResult> {
    if (schema !== undefined) return (await this.#inTransaction([{ text, params }], undefined, schema))[0]!
    const connection = await this.#checkout()
    let rows: unknown
    let fields: unknown
    try {
      ;[rows, fields] = await run(connection, text, params)
    } catch (error) {
      // A failed statement reports no status flags: one that may have opened a transaction before it
      // failed (a CALL; several statements in one text) is followed by a ROLLBACK before the connection goes back.
      const broken = connectionBroken(error)
      await this.#giveBack(connection, broken, broken || !this.#mayOpenUnseen(text) ? undefined : UNKNOWN)
      throw error
    }
    if (await this.#giveBack(connection, false, rows)) throw manualTransactionError(this.#config, true)
    return toResult(rows, fields)
  }

  /** Atomic: the statements in one transaction on one connection. */
  async batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]> {
    if (statements.length === 0) return []
    return this.#inTransaction(statements, undefined, schema)
  }

  async #inTransaction(
    statements: readonly Statement[],
    options: TransactionOptions | undefined,
    schema: string | undefined,
  ): Promise<QueryResult[]> {
    // Inside lazydb's own transaction a BEGIN would commit it and open one that lazydb then commits unseen.
    if (statements.some((s) => opensTransaction(s.text))) throw manualTransactionError(this.#config, false)
    return statementsIn(await this.begin(options, schema), statements)
  }

  /** SET TRANSACTION ISOLATION LEVEL (the next transaction only), START TRANSACTION [READ ONLY], USE schema. */
  async begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<DriverTransaction> {
    const connection = await this.#checkout()
    try {
      const level = isolationStatement(options)
      if (level !== undefined) await run(connection, level)
      await run(connection, startStatement(options))
      if (schema !== undefined) await run(connection, useStatement(schema))
    } catch (error) {
      // Whatever part ran (a level for the next transaction, an open one, a USE) goes with the connection.
      await this.#giveBack(connection, true)
      throw error
    }
    return new Mysql2Transaction(connection, this.#ender(schema), this.#giveBack)
  }

  /**
   * Ends the pool and waits until every socket has closed, so that nothing is left behind when the
   * function freezes. Checkouts still queued (lazydb's, and an ORM's on client()) are rejected at once:
   * mysql2's end() rejects its queue. With `force`, sockets are destroyed at once, under statements
   * still running; otherwise each connection quits after its current statement, destroyed after
   * CLOSE_TIMEOUT_MS if it has not.
   */
  async close(force: boolean): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#idleCloser !== undefined) clearInterval(this.#idleCloser)
    const closedError = new ClientClosedError()
    for (const settle of [...this.#waiting]) settle(closedError)
    const connections = toArray(this.#core._allConnections)
    const allClosed = Promise.all(connections.map(socketClosed))
    if (!this.#core._closed) this.#core.end(() => {})
    if (force) for (const connection of connections) destroyNow(connection)
    let timer: ReturnType<typeof setTimeout> | undefined
    const closed = await Promise.race([
      allClosed.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, force ? 50 : CLOSE_TIMEOUT_MS, false))),
    ])
    clearTimeout(timer)
    if (!closed) for (const connection of connections) destroyNow(connection)
    await nextTurn()
  }

  /** False once closed, by lazydb or by a user's `pool.end()`. A lost connection is the pool's to replace. */
  isAlive(): boolean {
    return !this.#closed && !this.#core._closed
  }

  /** True while connections are checked out or checkouts wait (an ORM's work through client()). */
  inUse(): boolean {
    const core = this.#core
    return core._allConnections.length > core._freeConnections.length || core._connectionQueue.length > 0
  }
}
