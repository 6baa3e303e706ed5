// The contract between lazydb's core and a driver: what a driver is given (DriverConfig), what it
// makes (a DriverClient), and what it knows about its errors (ErrorInfo).
import type { Secrets } from '../secrets.js'
import type { PlatformName } from '../platform.js'
import type { DriverName, Params, QueryResult, Scope, Statement, TransactionOptions } from '../types.js'

/** A database's settings as a driver needs them to create a client. Never put `url` in a message. */
export interface DriverConfig {
  alias: string
  driver: DriverName
  /** The full URL, secrets included. */
  url: string
  /** Driver options the user passed beside `url` (`fetchEndpoint`, `authToken`, `fetch`, …). */
  options: Readonly<Record<string, unknown>>
  /** Masks every secret of this database in a text or an error. */
  secrets: Secrets
  /**
   * Where the client will live (set by the core before `validate` and `connect`), so that a pool is
   * sized as the platform advises (src/drivers/pool-defaults.ts).
   */
  lifetime?: { scope: Scope; platform: PlatformName }
  /** The URL came from a Cloudflare Hyperdrive binding (`{ connectionString }`): a pooler sits in front. */
  hyperdrive?: boolean
}

/** An open transaction on a driver session. */
export interface DriverTransaction {
  query(text: string, params: Params | undefined): Promise<QueryResult>
  commit(): Promise<void>
  /**
   * Rolls back. With `force`, at once: the session is dropped (the server rolls the transaction back
   * when it goes) rather than sending ROLLBACK behind a statement that may still be running.
   */
  rollback(force?: boolean): Promise<void>
}

/** One driver client: a pool, an HTTP function or a socket, created once per lifetime. */
export interface DriverClient {
  /** The driver's own object, for ORMs and query builders. */
  readonly raw: unknown
  /**
   * Sends one statement and resolves to the driver's own result, which `toResult` maps: the warm
   * path then needs a single async frame of lazydb's around the driver call.
   * `schema` is a validated identifier or undefined.
   */
  execute(text: string, params: Params | undefined, schema: string | undefined): Promise<unknown>
  /** Maps what `execute` resolved to. */
  toResult(native: unknown): QueryResult
  batch(statements: readonly Statement[], schema: string | undefined): Promise<QueryResult[]>
  begin(options: TransactionOptions | undefined, schema: string | undefined): Promise<DriverTransaction>
  /**
   * Closes the client. lazydb calls it only when no lease holds the client, unless `force`: then
   * work still running or waiting inside the driver (a pool's queue) must settle, never hang.
   */
  close(force: boolean): Promise<void>
  /** False once the client knows it cannot be used again (socket closed, pool ended). */
  isAlive?(): boolean
  /** True while the driver's own object has work checked out (a pool's connections in use by an ORM). */
  inUse?(): boolean
  /** A pool: one lost connection is the pool's to replace; the client stays in use while `isAlive()`. */
  readonly pooled?: boolean
}

/** What a driver knows about one of its errors. */
export interface ErrorInfo {
  /** The connection was gone before the statement reached the server: safe to retry once. */
  notSent?: boolean
  /** The server refused the statement before it started (busy, locked): it did not run. */
  notStarted?: boolean
  /** The connection broke while the statement may have run. */
  lostMaybeRun?: boolean
  /** A connect failure worth retrying: refused, reset, timeout, too many connections. */
  transient?: boolean
  /** Bad credentials. */
  auth?: boolean
  /** `host:port` a refused or failed connect was aimed at. */
  address?: string
  sqlState?: string
  errno?: number
  constraint?: string
  detail?: string
  /** The driver's message without a prefix it repeats (e.g. libSQL's code before its message). */
  message?: string
}

/**
 * A driver: creates clients for a database and reads its errors.
 * @example registerDriver(libsqlDriver)
 */
export interface Driver {
  readonly name: DriverName
  /** Creates a client; socket drivers connect here so failures surface as connect failures. */
  connect(config: DriverConfig): Promise<DriverClient>
  classify(error: unknown): ErrorInfo
  /** Checks driver-specific options at construction, with no I/O. Throws CONFIG_INVALID. */
  validate?(config: DriverConfig): void
}

/**
 * Thrown by a driver for work it refused or cut off because lazydb closed the client (`close(true)`):
 * lazydb reports it as `CLOSED`.
 */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError'
  constructor() {
    super('the client was closed while this statement waited for a connection; it did not run')
  }
}
