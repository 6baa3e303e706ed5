import { Client, Pool, type PoolClient } from '@neondatabase/serverless'
import { argumentError, configError, LazyDbError } from '../errors.js'
import { redactError, redactText } from '../redact.js'
import type { IsolationLevel, Params, QueryResult, Statement, TransactionOptions } from '../types.js'
import type { Driver, DriverClient, DriverTransaction, ErrorInfo, ResolvedConfig } from './driver.js'
import { classifyNetwork } from './network-errors.js'

// ---------------------------------------------------------------------------------------------
// Shared by both Neon transports (neon-http opens WebSocket sessions for interactive transactions)
// ---------------------------------------------------------------------------------------------

/** How long `close()` waits for a graceful end before it destroys the sockets. */
export const CLOSE_TIMEOUT_MS = 1000

/** The URL without lazydb's own `transport` parameter, which the driver must not see. */
export function driverUrl(url: string): string {
  const query = url.indexOf('?')
  if (query < 0) return url
  const hash = url.indexOf('#', query)
  const end = hash < 0 ? url.length : hash
  const kept = url
    .slice(query + 1, end)
    .split('&')
    .filter((pair) => pair !== '' && pair.split('=')[0]!.toLowerCase() !== 'transport')
  return url.slice(0, query) + (kept.length > 0 ? `?${kept.join('&')}` : '') + url.slice(end)
}

/** Postgres takes positional parameters only. */
export function positional(params: Params | undefined): unknown[] {
  if (params === undefined) return []
  if (Array.isArray(params)) return params as unknown[]
  throw argumentError('query', 'Postgres takes positional parameters ($1, $2, …), not named ones', 'Pass an array: query("select … where id = $1", [id])')
}

interface ResultLike {
  rows: unknown[]
  rowCount: number | null
  fields: ReadonlyArray<{ name: string }>
}

/** A result; several (a multi-statement text over the simple protocol) give the last one's. */
export function toResult(result: ResultLike | readonly ResultLike[]): QueryResult {
  const r = Array.isArray(result) ? (result[result.length - 1] as ResultLike) : (result as ResultLike)
  return { rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? r.rows.length, columns: r.fields.map((f) => f.name) }
}

const LEVELS: Record<IsolationLevel, string> = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
}

export function beginStatement(options: TransactionOptions | undefined): string {
  let sql = 'BEGIN'
  const level = options?.isolationLevel === undefined ? undefined : LEVELS[options.isolationLevel]
  if (level !== undefined) sql += ` ISOLATION LEVEL ${level}`
  if (options?.readOnly !== undefined) sql += options.readOnly ? ' READ ONLY' : ' READ WRITE'
  if (options?.deferrable !== undefined) sql += options.deferrable ? ' DEFERRABLE' : ' NOT DEFERRABLE'
  return sql
}

/**
 * `search_path` for one transaction only (`is_local = true`, the effect of `SET LOCAL`): it ends
 * with the statement's own transaction, so nothing is left on a pooled server connection. Only
 * the schema is searched (plus `pg_catalog`, always): a table missing there fails rather than
 * silently falling back to `public`.
 */
export const SET_SEARCH_PATH = "select set_config('search_path', $1, true)"

/** The schema as a `search_path` entry: a quoted identifier, so its case is kept. */
export function searchPathValue(schema: string): string {
  return `"${schema.replace(/"/g, '""')}"`
}

/** The same, as SQL text for the simple protocol (no parameters there): a string literal, quotes doubled. */
function searchPathSql(schema: string): string {
  return `SELECT set_config('search_path', '${searchPathValue(schema).replace(/'/g, "''")}', true)`
}

/** Errors raised before any statement was written (opening a socket, the startup exchange). */
const beforeAnyStatement = new WeakSet<object>()

/** A rejected WebSocket connect hands over its ErrorEvent, which is no Error: this gives it a message and a stack. */
export class NeonWebSocketError extends Error {
  override readonly name = 'NeonWebSocketError'
  constructor(event: { message?: unknown; error?: unknown }) {
    const detail = typeof event.message === 'string' && event.message !== '' ? event.message : 'the connection failed'
    super(`WebSocket error: ${detail}`, event.error instanceof Error ? { cause: event.error } : undefined)
  }
}

export function asError(error: unknown): unknown {
  if (error instanceof Error || typeof error !== 'object' || error === null) return error
  const event = error as { type?: unknown; message?: unknown }
  return event.type === 'error' || typeof event.message === 'string' ? new NeonWebSocketError(event) : error
}

/** Marks an error from opening a connection: no statement of ours reached the server. */
export function connectFailure(error: unknown): unknown {
  const e = asError(error)
  if (typeof e === 'object' && e !== null) beforeAnyStatement.add(e)
  return e
}

/** A CONNECT_FAILED raised by the driver itself (opening a transaction's session), secrets masked. */
export function sessionError(config: ResolvedConfig, error: unknown, lead: string): LazyDbError {
  redactError(error, config.secrets)
  const text = redactText(String((error as Error | undefined)?.message ?? error), config.secrets)
  const info = classifyNeon(error)
  return new LazyDbError('CONNECT_FAILED', `database "${config.alias}" (${config.driver}): ${lead}: ${text}`, {
    database: config.alias,
    cause: error,
    sqlState: info.sqlState,
  })
}

const SQLSTATE = /^[0-9A-Z]{5}$/
const AUTH = new Set(['28P01', '28000'])
// too_many_connections, admin/crash shutdown, cannot_connect_now, connection exceptions (08…).
const TRANSIENT = new Set(['53300', '57P01', '57P02', '57P03'])
// Refusals sent at connection start only, before the server reads any statement.
const AT_STARTUP = new Set(['53300', '57P03'])

/**
 * What a Neon error (HTTP `NeonDbError`, WebSocket pg `DatabaseError`, a socket or WebSocket
 * failure) says about the statement: SQLSTATE and fields, never sent (retry), maybe run, auth.
 */
export function classifyNeon(error: unknown): ErrorInfo {
  if (typeof error !== 'object' || error === null || error instanceof LazyDbError) return {}
  const e = error as Record<string, unknown>
  const atConnect = beforeAnyStatement.has(error)
  const code = typeof e.code === 'string' && SQLSTATE.test(e.code) && classifyNetwork(error) === undefined ? e.code : undefined
  if (code !== undefined) {
    const info: ErrorInfo = { sqlState: code }
    if (typeof e.constraint === 'string') info.constraint = e.constraint
    if (typeof e.detail === 'string') info.detail = e.detail
    if (AUTH.has(code)) info.auth = true
    if (TRANSIENT.has(code) || code.startsWith('08')) {
      info.transient = true
      if (atConnect || AT_STARTUP.has(code)) info.notSent = true
      // Terminated (pg_terminate_backend, a restart) while a statement was out: it may have run.
      else info.lostMaybeRun = true
    }
    return info
  }
  if (atConnect) return { notSent: true, transient: true }
  const network = classifyNetwork(error) ?? classifyNetwork(e.sourceError)
  if (network !== undefined) return network
  const message = typeof e.message === 'string' ? e.message : ''
  // pg refuses a query on a client whose connection is already gone, before writing anything.
  if (/is not queryable/.test(message)) return { notSent: true }
  if (/Connection terminated|^WebSocket error/.test(message)) return { lostMaybeRun: true }
  if (/HTTP status 40[13]\b/.test(message)) return { auth: true }
  return {}
}

/** Whether a client must be thrown away after this error rather than reused. */
function connectionBroken(error: unknown): boolean {
  const info = classifyNeon(error)
  return info.notSent === true || info.lostMaybeRun === true || (error as { severity?: unknown })?.severity === 'FATAL'
}

// --- WebSocket settings -----------------------------------------------------------------------

/** Driver settings that the WebSocket transport takes per client (`client.neonConfig`). */
const SOCKET_SETTINGS = ['wsProxy', 'useSecureWebSocket', 'pipelineConnect', 'pipelineTLS', 'forceDisablePgSSL', 'coalesceWrites', 'disableSNI', 'rootCerts', 'subtls'] as const

export type SocketSettings = Record<string, unknown>

// Kept in a variable so bundlers never follow it: `ws` is an optional peer, for Node < 22 only.
const importAtRuntime: (specifier: string) => Promise<unknown> = (specifier) => import(/* @vite-ignore */ specifier)
let wsModule: Promise<unknown> | undefined

/** `options.webSocketConstructor`, else the runtime's WebSocket, else the `ws` package (Node 20). */
async function webSocketConstructor(config: ResolvedConfig): Promise<unknown> {
  const given = config.options.webSocketConstructor
  if (given !== undefined) return given
  const native = (globalThis as { WebSocket?: unknown }).WebSocket
  if (typeof native === 'function') return native
  try {
    const mod = (await (wsModule ??= importAtRuntime('ws'))) as { WebSocket?: unknown; default?: unknown }
    return mod.WebSocket ?? mod.default
  } catch (error) {
    wsModule = undefined
    throw new LazyDbError(
      'DRIVER_MISSING',
      `database "${config.alias}" (${config.driver}): this runtime has no global WebSocket (Node 20 has none) and the optional package ws is not installed. Run: npm install ws, or pass { webSocketConstructor }`,
      { database: config.alias, cause: error },
    )
  }
}

export async function socketSettings(config: ResolvedConfig): Promise<SocketSettings> {
  const settings: SocketSettings = { webSocketConstructor: await webSocketConstructor(config) }
  for (const name of SOCKET_SETTINGS) if (config.options[name] !== undefined) settings[name] = config.options[name]
  return settings
}

function configure(client: Client, settings: SocketSettings): void {
  Object.assign(client.neonConfig, settings)
}

type Closable = Pick<Client, 'end'> & { connection?: unknown }

/** Kills a client's socket at once (no goodbye): for connections that dropped or hang. */
export function destroyClient(client: Closable): void {
  const stream = (client.connection as { stream?: { ws?: { terminate?(): void; close?(): void } | null; destroy?(): void } } | undefined)?.stream
  try {
    const ws = stream?.ws
    if (typeof ws?.terminate === 'function') ws.terminate()
    else ws?.close?.()
  } catch {}
  try {
    stream?.destroy?.()
  } catch {}
}

/** How long the pool must have been idle before a checkout first lets pending I/O run (see #checkout). */
export const SETTLE_AFTER_IDLE_MS = 50

const settleIo: () => Promise<void> =
  typeof setImmediate === 'function' ? () => new Promise((resolve) => setImmediate(resolve)) : () => new Promise((resolve) => setTimeout(resolve, 0))

/** False once the client's WebSocket is closing or closed (`readyState` 2 or 3), which it knows before pg does. */
function socketOpen(client: object): boolean {
  const ws = (client as { connection?: { stream?: { ws?: { readyState?: unknown } | null } } }).connection?.stream?.ws
  return typeof ws?.readyState !== 'number' || ws.readyState <= 1
}

/** `end()` with a deadline: on a connection that already dropped, the driver's `end()` never settles. */
export async function endClient(client: Closable, dead = false): Promise<void> {
  if (dead) return destroyClient(client)
  let timer: ReturnType<typeof setTimeout> | undefined
  const ended = await Promise.race([
    client.end().then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS, false))),
  ])
  clearTimeout(timer)
  if (!ended) destroyClient(client)
}

/** A standalone WebSocket session (neon-http's interactive transactions). */
export async function openSession(url: string, settings: SocketSettings): Promise<{ client: Client; isDead(): boolean }> {
  const client = new Client(url)
  configure(client, settings)
  let dead = false
  client.on('error', () => (dead = true)) // surfaces on the next query; never an unhandled 'error'
  try {
    await client.connect()
  } catch (error) {
    destroyClient(client)
    throw connectFailure(error)
  }
  return { client, isDead: () => dead }
}

// --- Statements over one session ----------------------------------------------------------------

interface SessionLike {
  query(text: string, values?: unknown[]): Promise<ResultLike & { command?: string }>
}

/** An interactive transaction on a session; `finish` gives the session back (or destroys it), once. */
export class SessionTransaction implements DriverTransaction {
  #finished = false
  constructor(
    readonly session: SessionLike,
    readonly release: (broken: unknown) => Promise<void> | void,
  ) {}

  async finish(broken: unknown): Promise<void> {
    if (this.#finished) return
    this.#finished = true
    await this.release(broken)
  }

  async query(text: string, params: Params | undefined): Promise<QueryResult> {
    const values = positional(params)
    try {
      return toResult(await this.session.query(text, values))
    } catch (error) {
      throw asError(error)
    }
  }

  async commit(): Promise<void> {
    let result: { command?: string }
    try {
      result = await this.session.query('COMMIT')
    } catch (error) {
      await this.finish(connectionBroken(error) ? error : undefined)
      throw asError(error)
    }
    await this.finish(undefined)
    // COMMIT of a transaction in which a statement failed rolls back, without an error.
    if (result.command === 'ROLLBACK') {
      throw Object.assign(new Error('COMMIT rolled the transaction back: a statement in it had failed (current transaction is aborted)'), { code: '25P02' })
    }
  }

  async rollback(): Promise<void> {
    try {
      await this.session.query('ROLLBACK')
    } catch (error) {
      await this.finish(error)
      throw asError(error)
    }
    await this.finish(undefined)
  }
}

/** Opens a transaction on a session in one round trip: BEGIN and the schema's search_path together. */
export async function beginOn(session: SessionLike, options: TransactionOptions | undefined, schema: string | undefined): Promise<void> {
  const begin = beginStatement(options)
  await session.query(schema === undefined ? begin : `${begin}; ${searchPathSql(schema)}`)
}

interface PgConnection {
  parse(msg: unknown): void
  bind(msg: { values?: unknown[]; valueMapper?: (value: unknown, index: number) => unknown }): void
  describe(msg: unknown): void
  execute(msg: unknown): void
  sync(): void
}

interface PgQuery {
  submit(connection: PgConnection): Error | null
  prepare(connection: unknown): void
}

type PgQueryClass = new (config: { text: string; values?: unknown[]; callback?: (error: Error | null, result: unknown) => void }) => PgQuery

/** @internal For tests: turn pipelining off to exercise the BEGIN … COMMIT fallback. */
export const neonWsInternals = { pipelining: true }

function queryClass(): PgQueryClass | undefined {
  const candidate = (Client as unknown as { Query?: PgQueryClass }).Query
  const proto = candidate?.prototype as Partial<PgQuery> | undefined
  return neonWsInternals.pipelining && typeof proto?.prepare === 'function' && typeof proto.submit === 'function' ? candidate : undefined
}

interface Bound {
  text: string
  values: unknown[]
}

/**
 * Runs the statements in ONE round trip: each one's Parse/Bind/Describe/Execute, then a single
 * Sync. Postgres runs everything before a Sync in one implicit transaction, so the statements are
 * atomic (an error rolls all of them back) and a `set_config(…, true)` among them holds until the
 * Sync and no longer. Built on pg's public Submittable interface with pg's own Query doing the
 * encoding; every value is encoded before anything is written, so a bad value sends nothing.
 */
function pipeline(session: SessionLike, Query: PgQueryClass, statements: readonly Bound[]): Promise<ResultLike[]> {
  return new Promise((resolve, reject) => {
    const collector = new Query({
      text: statements[0]!.text,
      callback: (error, result) => {
        if (error) return reject(error)
        const results = (Array.isArray(result) ? result : [result]) as ResultLike[]
        if (results.length === statements.length) resolve(results)
        else reject(new Error(`the pipeline returned ${results.length} results for ${statements.length} statements`))
      },
    })
    collector.submit = (connection) => {
      const writes: Array<() => void> = []
      const recorder = {
        parsedStatements: {},
        parse: (msg: unknown) => writes.push(() => connection.parse(msg)),
        bind: (msg: Parameters<PgConnection['bind']>[0]) => {
          msg.values?.forEach((value, index) => msg.valueMapper?.(value, index)) // encode now: throws before anything is sent
          writes.push(() => connection.bind(msg))
        },
        describe: (msg: unknown) => writes.push(() => connection.describe(msg)),
        execute: (msg: unknown) => writes.push(() => connection.execute(msg)),
        flush: () => {},
        sync: () => {},
      }
      const outcome: { failed: Error | null } = { failed: null }
      for (const s of statements) {
        new Query({ text: s.text, values: s.values, callback: (error) => (outcome.failed = error) }).prepare(recorder)
        if (outcome.failed !== null) return outcome.failed
      }
      for (const write of writes) write()
      connection.sync()
      return null
    }
    ;(session as unknown as { query(submittable: PgQuery): unknown }).query(collector)
  })
}

/** The fallback when pipelining is unavailable: BEGIN (+ search_path), each statement, COMMIT. */
async function inTransaction(session: SessionLike, statements: readonly Bound[], schema: string | undefined): Promise<ResultLike[]> {
  await beginOn(session, undefined, schema)
  try {
    const results: ResultLike[] = []
    for (const s of statements) results.push(await session.query(s.text, s.values))
    await session.query('COMMIT')
    return results
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/** Statements atomically, with the schema's search_path for them only: one round trip when pipelined. */
export async function runAtomically(session: SessionLike, statements: readonly Bound[], schema: string | undefined): Promise<ResultLike[]> {
  const Query = queryClass()
  // A blank statement answers EmptyQueryResponse instead of a result: keep those on the simple path.
  if (Query === undefined || statements.some((s) => s.text.trim() === '')) return inTransaction(session, statements, schema)
  if (schema === undefined) return pipeline(session, Query, statements)
  const results = await pipeline(session, Query, [{ text: SET_SEARCH_PATH, values: [searchPathValue(schema)] }, ...statements])
  return results.slice(1)
}

// --- Options ------------------------------------------------------------------------------------

const KINDS: Record<string, (value: unknown) => boolean> = {
  wsProxy: (v) => typeof v === 'string' || typeof v === 'function',
  webSocketConstructor: (v) => typeof v === 'function',
  useSecureWebSocket: (v) => typeof v === 'boolean',
  pipelineConnect: (v) => v === false || v === 'password',
  pipelineTLS: (v) => typeof v === 'boolean',
  forceDisablePgSSL: (v) => typeof v === 'boolean',
  coalesceWrites: (v) => typeof v === 'boolean',
  max: (v) => Number.isInteger(v) && (v as number) >= 1,
  idleTimeoutMillis: (v) => typeof v === 'number' && v >= 0,
  connectionTimeoutMillis: (v) => typeof v === 'number' && v >= 0,
  authToken: (v) => typeof v === 'string' || typeof v === 'function',
  fetchOptions: (v) => typeof v === 'object' && v !== null,
  fetchEndpoint: (v) => typeof v === 'string' || typeof v === 'function',
  fetchFunction: (v) => typeof v === 'function',
}

/** Checks the Neon options both transports take; no I/O. */
export function checkNeonOptions(config: ResolvedConfig): void {
  for (const [name, ok] of Object.entries(KINDS)) {
    const value = config.options[name]
    if (value !== undefined && !ok(value)) {
      throw configError(config.alias, `the Neon option ${name} has an invalid value (${typeof value})`, 'See the neon() options in lazydb/neon')
    }
  }
}

// --- neon-ws: a Pool -----------------------------------------------------------------------------

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
    if (performance.now() - this.#lastActive >= SETTLE_AFTER_IDLE_MS) await settleIo()
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
    await settleIo()
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
