import type { DriverName, Params, QueryResult, Statement, TransactionOptions } from '../types.js'

/** A database's settings after normalising: what a driver needs to create a client. */
export interface ResolvedConfig {
  alias: string
  driver: DriverName
  /** The full URL, secrets included. Never put it in a message. */
  url: string
  /** Driver options the user passed beside `url` (`fetchEndpoint`, `authToken`, `fetch`, …). */
  options: Readonly<Record<string, unknown>>
  /** Strings to mask wherever text leaves lazydb. */
  secrets: readonly string[]
}

/** An open transaction on a driver session. */
export interface DriverTransaction {
  query(text: string, params: Params | undefined): Promise<QueryResult>
  commit(): Promise<void>
  rollback(): Promise<void>
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
  close(): Promise<void>
  /** False once the client knows its connection is gone (socket closed). HTTP clients omit it. */
  isAlive?(): boolean
}

/** What a driver knows about one of its errors. */
export interface ErrorInfo {
  /** The connection was gone before the statement reached the server: safe to retry once. */
  notSent?: boolean
  /** The connection broke while the statement may have run. */
  lostMaybeRun?: boolean
  /** A connect failure worth retrying: refused, reset, timeout, too many connections. */
  transient?: boolean
  /** Bad credentials. */
  auth?: boolean
  sqlState?: string
  errno?: number
  constraint?: string
  detail?: string
}

export interface Driver {
  readonly name: DriverName
  /** Creates a client; socket drivers connect here so failures surface as connect failures. */
  connect(config: ResolvedConfig): Promise<DriverClient>
  classify(error: unknown): ErrorInfo
  /** Checks driver-specific options at construction, with no I/O. Throws CONFIG_INVALID. */
  validate?(config: ResolvedConfig): void
}
