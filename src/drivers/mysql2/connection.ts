import type { Params } from '../../types.js'
import { queryOptions, type QueryOptions } from './sql.js'

// The parts of mysql2's callback-style pooled connection and pool that lazydb uses. mysql2/promise's
// Pool wraps the callback pool (`pool.pool`); lazydb works on that one so that it sees each
// connection's socket and state, and the pool's queues, which the promise wrappers hide.

export interface CoreConnection {
  query(
    options: QueryOptions,
    values: unknown,
    callback: (error: Error | null, rows?: unknown, fields?: unknown) => void,
  ): unknown
  release(): void
  destroy(): void
  end(): void
  on(event: 'error', listener: (error: Error) => void): unknown
  readonly stream?: {
    destroyed?: boolean
    readableEnded?: boolean
    closed?: boolean
    destroy?(error?: Error): void
    once?(event: string, listener: () => void): unknown
  }
  readonly config?: { database?: string }
  /** Set by mysql2 once it knows the connection is going or gone. */
  readonly _closing?: boolean
  readonly _fatalError?: unknown
  readonly _protocolError?: unknown
  /** When mysql2 last gave the connection back to its pool (Date.now()). */
  readonly lastActiveTime?: number
}

/** mysql2's ring queue. */
export interface CoreQueue<T> {
  readonly length: number
  get(index: number): T
}

export interface CorePool {
  getConnection(callback: (error: Error | null, connection?: CoreConnection) => void): void
  end(callback: (error?: Error | null) => void): void
  on(event: 'connection', listener: (connection: CoreConnection) => void): unknown
  readonly config: { connectionLimit: number }
  readonly _allConnections: CoreQueue<CoreConnection>
  readonly _freeConnections: CoreQueue<CoreConnection>
  readonly _connectionQueue: CoreQueue<unknown>
  readonly _closed: boolean
}

export function toArray<T>(queue: CoreQueue<T> | undefined): T[] {
  const items: T[] = []
  if (queue === undefined) return items
  for (let i = 0; i < queue.length; i++) items.push(queue.get(i))
  return items
}

/** One statement on one connection: resolves to mysql2's `[rows, fields]`. */
export function run(connection: CoreConnection, text: string, params?: Params): Promise<[unknown, unknown]> {
  return new Promise((resolve, reject) => {
    try {
      const [options, values] = queryOptions(text, params)
      connection.query(options, values, (error, rows, fields) => (error ? reject(error) : resolve([rows, fields])))
    } catch (error) {
      reject(error)
    }
  })
}

/** False once mysql2 knows the connection is closing or broken, or its socket has ended. */
export function usable(connection: CoreConnection): boolean {
  const stream = connection.stream
  return (
    connection._closing !== true &&
    !connection._fatalError &&
    !connection._protocolError &&
    stream?.destroyed !== true &&
    stream?.readableEnded !== true
  )
}

/**
 * Out of the pool and its socket destroyed at once, even under a statement still running, which then
 * fails (with this error) rather than wait forever: mysql2 settles the commands of a connection whose
 * socket fails, but not of one it was told to close (`destroy()` alone).
 */
export function destroyNow(connection: CoreConnection): void {
  try {
    connection.stream?.destroy?.(Object.assign(new Error(DESTROYED_MESSAGE), { code: DESTROYED }))
  } catch {}
  try {
    connection.destroy()
  } catch {}
}

/** The code of the error a connection's commands fail with when lazydb destroyed it under them. */
export const DESTROYED = 'LAZYDB_CONNECTION_DESTROYED'
const DESTROYED_MESSAGE =
  'the connection was destroyed (closed by lazydb) while this statement was on it; it may have run'

/** Settles when the connection's socket has closed. */
export function socketClosed(connection: CoreConnection): Promise<void> {
  const stream = connection.stream
  if (stream === undefined || stream.closed === true || typeof stream.once !== 'function') return Promise.resolve()
  return new Promise((resolve) => stream.once!('close', resolve))
}
