import { createClient, type Client, type InArgs, type InStatement, type ResultSet, type Transaction } from '@libsql/client'
import type { DatabaseOptions } from '../config.js'
import { Database } from '../database.js'
import { configError, describeValue, isOptionsObject } from '../errors.js'
import type { Driver, DriverClient, DriverTransaction, ErrorInfo, ResolvedConfig } from './driver.js'
import { registerDriver } from './load.js'
import { classifyNetwork, classifyNetworkCode } from './network-errors.js'
import { nextTurn, SETTLE_AFTER_IDLE_MS } from './settle-io.js'
import type { Params, QueryResult, Statement, TransactionOptions } from '../types.js'

/**
 * Options for `libsql()`: everything `createClient` takes besides `url`, lazydb's own, and
 * `createClient` itself to pick a build (e.g. from `@libsql/client/web`).
 */
export type LibsqlOptions = Omit<DatabaseOptions, 'url' | 'driver'> & { createClient?: typeof createClient }

/**
 * A libSQL database (`file:`, `:memory:`, `libsql://`, `http(s)://`, `ws(s)://`) for a Registry.
 * Importing this subpath also registers the driver for URL-based config.
 * @example
 * import { libsql } from 'lazydb/libsql'
 * export const registry = new Registry({ database: libsql(env.DATABASE_URL, { authToken: env.TOKEN }) })
 */
export function libsql(url: string, options?: LibsqlOptions): Database {
  if (options !== undefined && !isOptionsObject(options)) {
    throw configError(undefined, `libsql() options must be an object (got ${describeValue(options)})`, 'Pass libsql(url, { authToken }) or leave the options out')
  }
  return new Database({ ...options, url, driver: 'libsql' })
}

const isString = (v: unknown) => typeof v === 'string'
const isBoolean = (v: unknown) => typeof v === 'boolean'
const isFunction = (v: unknown) => typeof v === 'function'
const isAtLeastZero = (v: unknown) => typeof v === 'number' && v >= 0

/** The options `createClient` takes besides `url` (and lazydb's `createClient`), with what each must be. */
const OPTIONS: Record<string, [ok: (value: unknown) => boolean, expected: string]> = {
  authToken: [isString, 'a string'],
  encryptionKey: [isString, 'a string'],
  remoteEncryptionKey: [isString, 'a string'],
  syncUrl: [isString, 'a string'],
  syncInterval: [isAtLeastZero, 'a number of seconds ≥ 0'],
  readYourWrites: [isBoolean, 'a boolean'],
  offline: [isBoolean, 'a boolean'],
  tls: [isBoolean, 'a boolean'],
  intMode: [(v) => v === 'number' || v === 'bigint' || v === 'string', '"number", "bigint" or "string"'],
  fetch: [isFunction, 'a function'],
  concurrency: [isAtLeastZero, 'a number ≥ 0'],
  timeout: [isAtLeastZero, 'a number of milliseconds ≥ 0'],
  createClient: [isFunction, 'a function'],
}

/** Checks the libSQL options; no I/O. The value itself is never quoted: it may be a token or key. */
function checkOptions(config: ResolvedConfig): void {
  for (const [name, [ok, expected]] of Object.entries(OPTIONS)) {
    const value = config.options[name]
    if (value !== undefined && !ok(value)) {
      throw configError(config.alias, `the libSQL option ${name} must be ${expected} (got ${describeValue(value)})`, `Pass ${name} as ${expected}, or leave it out`)
    }
  }
}

function toResult(rs: ResultSet): QueryResult {
  const result: QueryResult = { rows: rs.rows as unknown as Record<string, unknown>[], rowCount: rs.columns.length > 0 ? rs.rows.length : rs.rowsAffected, columns: rs.columns }
  if (rs.rowsAffected > 0 && rs.lastInsertRowid !== undefined) result.lastInsertId = String(rs.lastInsertRowid)
  return result
}

function statement(text: string, params: Params | undefined): InStatement {
  return params === undefined ? text : { sql: text, args: params as InArgs }
}

class LibsqlTransaction implements DriverTransaction {
  constructor(readonly tx: Transaction) {}
  async query(text: string, params: Params | undefined): Promise<QueryResult> {
    return toResult(await this.tx.execute(statement(text, params)))
  }
  async commit(): Promise<void> {
    try {
      await this.tx.commit()
    } finally {
      this.tx.close()
    }
  }
  async rollback(): Promise<void> {
    try {
      await this.tx.rollback()
    } finally {
      this.tx.close()
    }
  }
}

// Two turns: one to read the peer's FIN, one for the socket to close once its own FIN is out,
// which is when the WebSocket (and so the client) hears of it.
const settleIo = () => nextTurn().then(nextTurn)

class LibsqlClient implements DriverClient {
  readonly #socket: boolean
  #lastActive = performance.now()

  constructor(readonly raw: Client) {
    this.#socket = raw.protocol === 'ws'
  }

  /**
   * After a pause (a freeze, a quiet spell) the far side's close of the WebSocket may be waiting
   * unread; the client only reopens a socket it knows is closed, and would otherwise send the
   * statement into the dead one. Letting the I/O already received run first makes it see the close.
   * The client's socket is private, so unlike neon-ws there is no readyState to check afterwards.
   */
  #settle(): Promise<void> | undefined {
    if (!this.#socket) return undefined
    const now = performance.now()
    const idle = now - this.#lastActive >= SETTLE_AFTER_IDLE_MS
    this.#lastActive = now
    return idle ? settleIo() : undefined
  }

  execute(text: string, params: Params | undefined): Promise<ResultSet> {
    const settling = this.#settle()
    if (settling === undefined) return this.raw.execute(statement(text, params))
    return settling.then(() => this.raw.execute(statement(text, params)))
  }

  toResult(native: unknown): QueryResult {
    return toResult(native as ResultSet)
  }

  async batch(statements: readonly Statement[]): Promise<QueryResult[]> {
    await this.#settle()
    const results = await this.raw.batch(statements.map((s) => statement(s.text, s.params)), 'write')
    return results.map(toResult)
  }

  async begin(options: TransactionOptions | undefined): Promise<DriverTransaction> {
    await this.#settle()
    return new LibsqlTransaction(await this.raw.transaction(options?.readOnly === true ? 'read' : 'write'))
  }

  async close(): Promise<void> {
    this.raw.close()
  }

  isAlive(): boolean {
    return !this.raw.closed
  }
}

/** `file:` databases are created on first use, directory included. */
function ensureDirectory(url: string): void {
  if (!url.startsWith('file:')) return
  const path = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '').split('?')[0]!
  const slash = path.lastIndexOf('/')
  if (slash <= 0) return
  const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:fs') as
    | { mkdirSync(path: string, options: { recursive: boolean }): void }
    | undefined
  fs?.mkdirSync(decodeURIComponent(path.slice(0, slash)), { recursive: true })
}

/**
 * The WebSocket client's errors (HRANA_WEBSOCKET_ERROR) keep only the socket's message: a refused
 * or failed connect ("connect ECONNREFUSED …"), a socket closed under the statement ("WebSocket was
 * closed with code 1006"), or, with a ClosedError as cause, a statement the client refused unsent
 * because the socket had already closed.
 */
function classifyWebSocket(error: unknown): ErrorInfo | undefined {
  const e = error as { code?: unknown; message?: unknown; cause?: { name?: unknown } }
  if (e?.code !== 'HRANA_WEBSOCKET_ERROR') return undefined
  if (e.cause?.name === 'ClosedError') return { notSent: true }
  const message = String(e.message)
  if (message.includes('WebSocket was closed with code')) return { lostMaybeRun: true, transient: true }
  const code = /\b(E[A-Z]+)\b/.exec(message)?.[1]
  return code === undefined ? undefined : classifyNetworkCode(code)
}

export const libsqlDriver: Driver = {
  name: 'libsql',
  validate: checkOptions,
  async connect(config: ResolvedConfig): Promise<DriverClient> {
    ensureDirectory(config.url)
    const { createClient: create = createClient, ...options } = config.options as LibsqlOptions
    return new LibsqlClient(create({ ...options, url: config.url }))
  },
  classify(error: unknown): ErrorInfo {
    const network = classifyNetwork(error) ?? classifyWebSocket(error)
    if (network !== undefined) return network
    const e = error as { code?: unknown; rawCode?: unknown; message?: unknown }
    const info: ErrorInfo = {}
    if (typeof e?.rawCode === 'number') info.errno = e.rawCode
    if (e?.code === 'SERVER_ERROR' && typeof e.message === 'string' && /HTTP status 401\b/.test(e.message)) info.auth = true
    if (e?.code === 'CLIENT_CLOSED') info.notSent = true
    return info
  },
}

registerDriver(libsqlDriver)
