import type { LazyDbError } from './errors.js'

/** Names of the supported drivers. */
export type DriverName = 'neon-http' | 'neon-ws' | 'planetscale' | 'libsql' | 'pg' | 'mysql2' | 'postgres'

/** How long a driver client lives: the process (`warm`) or one invocation (`request`). */
export type Scope = 'warm' | 'request'

/** Positional (`$1`, `?`) or named (`:name`) parameters, in the driver's own placeholder style. */
export type Params = readonly unknown[] | Readonly<Record<string, unknown>>

export interface QueryResult<Row = Record<string, unknown>> {
  rows: Row[]
  /** Rows returned by a query, or rows changed by a write. */
  rowCount: number
  columns: string[]
  /** The id of the row a write inserted, where the driver reports one (MySQL, SQLite). */
  lastInsertId?: string
}

/** One statement of a `batch`: the same pair `query` takes. */
export interface Statement {
  text: string
  params?: Params
}

export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'

export interface TransactionOptions {
  isolationLevel?: IsolationLevel
  readOnly?: boolean
  /** Postgres only: with `serializable` and `readOnly`. */
  deferrable?: boolean
}

/** The handle `transaction(fn)` passes to `fn`. */
export interface Transaction {
  query<Row = Record<string, unknown>>(text: string, params?: Params): Promise<QueryResult<Row>>
  sql<Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<QueryResult<Row>>
}

export interface WarningEvent {
  code: 'NOT_CONNECTED'
  message: string
  database: string
}

export interface ConnectEvent {
  database: string
  driver: DriverName
  scope: Scope
  durationMs: number
}

export interface CloseEvent {
  database: string
  driver: DriverName
  reason: 'disconnect' | 'request-end' | 'idle' | 'stale' | 'lost'
}

export interface QueryEvent {
  database: string
  text: string
  durationMs: number
  /** The LazyDbError the statement failed with. */
  error?: unknown
}

export interface RetryEvent {
  database: string
  attempt: number
  delayMs: number
  reason: 'connect' | 'connection-lost'
  error: unknown
}

/** Lifecycle hooks; each may be async. A hook that throws or rejects never affects the operation. */
export interface Hooks {
  connect?: (event: ConnectEvent) => void
  close?: (event: CloseEvent) => void
  query?: (event: QueryEvent) => void
  retry?: (event: RetryEvent) => void
  warning?: (event: WarningEvent) => void
  /** Every LazyDbError lazydb raises (CLOSED included), as it is raised. */
  error?: (error: LazyDbError) => void
}

export interface RetryOptions {
  /**
   * Connect attempts in all, the first included. Default 10 (so that, with the default delays, `totalMs` is
   * what bounds a long outage).
   */
  attempts?: number
  /** First backoff delay; doubled each retry, with full jitter. Default 50 ms. */
  baseDelayMs?: number
  /** Longest single delay. Default 1000 ms. */
  maxDelayMs?: number
  /** No retry starts after this much time since the first attempt. Default 5000 ms. */
  totalMs?: number
}

export interface DatabaseStats {
  driver: DriverName
  scope: Scope
  connects: number
  closes: number
  queries: number
  errors: number
  retries: number
}

export interface RegistryStats {
  platform: string
  invocations: { total: number; cold: number }
  databases: Record<string, DatabaseStats>
}

/** One operation lazydb hands to `tracing.trace`: what it is and where it goes, never a value or a secret. */
export interface TracedOperation {
  /** A statement (`query`, `sql`, `tx.query`), a batch, a transaction (all of `fn`), a connect, or a retry's wait. */
  kind: 'statement' | 'batch' | 'transaction' | 'connect' | 'retry'
  /** The database's alias in its registry. */
  database: string
  driver: DriverName
  /** The SQL text with the driver's placeholders (a batch: its first statement's). Values are never in it. */
  text?: string
  /** Statements in a batch. */
  statements?: number
  /** Host, port and database name from the URL (never its credentials); absent for an embedded database. */
  serverAddress?: string
  serverPort?: number
  namespace?: string
  /** For a retry: which one, how long it waits before trying again, and why. */
  retry?: { attempt: number; delayMs: number; reason: 'connect' | 'connection-lost' }
}

/**
 * Wraps lazydb's operations, e.g. in OpenTelemetry spans (`@lazydb/core/otel`). `trace` runs `run`
 * and returns what it returns (or throws what it throws); a `transaction`'s statements run inside
 * its `run`, so they can be its children.
 */
export interface Tracing {
  trace<T>(operation: TracedOperation, run: () => Promise<T>): Promise<T>
}
