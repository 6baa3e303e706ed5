import type { Params, QueryResult, TransactionOptions } from '../../types.js'
import type { DriverTransaction } from '../contract.js'
import { asError, connectionBroken } from './errors.js'
import { beginStatement, positional, searchPathSql, toResult, type ResultLike } from './sql.js'

// One Postgres session of a pg-style client (node-postgres, or Neon's WebSocket build of it): ending
// it with a deadline, killing its socket, and an interactive transaction on it.

/** How long `close()` waits for a graceful end before it destroys the sockets. */
export const CLOSE_TIMEOUT_MS = 1000
/** How long a forced rollback waits for its ROLLBACK before it drops the session instead. */
const FORCED_ROLLBACK_MS = 100

// --- Opening and ending a client ------------------------------------------------------------------

export interface Closable {
  end(): Promise<void>
  connection?: unknown
}

/** Kills a client's socket at once (no goodbye): for connections that dropped or hang. */
export function destroyClient(client: Closable): void {
  const stream = (
    client.connection as
      | { stream?: { ws?: { terminate?(): void; close?(): void } | null; destroy?(): void } }
      | undefined
  )?.stream
  try {
    // Neon's WebSocket transport keeps the socket as stream.ws; node-postgres's stream is the TCP socket.
    const ws = stream?.ws
    if (typeof ws?.terminate === 'function') ws.terminate()
    else ws?.close?.()
  } catch {}
  try {
    stream?.destroy?.()
  } catch {}
}

/** `end()` with a deadline: on a connection that already dropped, the driver's `end()` never settles. */
export async function endClient(client: Closable, dead = false): Promise<void> {
  if (dead) return destroyClient(client)
  let timer: ReturnType<typeof setTimeout> | undefined
  const ended = await Promise.race([
    client.end().then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS, false))),
  ])
  clearTimeout(timer)
  if (!ended) destroyClient(client)
}

// --- Statements over one session ----------------------------------------------------------------

export interface SessionLike {
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
      throw Object.assign(
        new Error('COMMIT rolled the transaction back: a statement in it had failed (current transaction is aborted)'),
        { code: '25P02' },
      )
    }
  }

  async rollback(force = false): Promise<void> {
    if (force) {
      // A ROLLBACK gets FORCED_ROLLBACK_MS (an idle transaction's takes one round trip, and keeps the
      // connection); one queued behind a statement still running does not wait: the session is dropped.
      let timer: ReturnType<typeof setTimeout> | undefined
      const rolledBack = await Promise.race([
        this.session.query('ROLLBACK').then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => (timer = setTimeout(resolve, FORCED_ROLLBACK_MS, false))),
      ])
      clearTimeout(timer)
      return this.finish(rolledBack ? undefined : new Error('rolled back by dropping the session'))
    }
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
export async function beginOn(
  session: SessionLike,
  options: TransactionOptions | undefined,
  schema: string | undefined,
): Promise<void> {
  const begin = beginStatement(options)
  await session.query(schema === undefined ? begin : `${begin}; ${searchPathSql(schema)}`)
}
