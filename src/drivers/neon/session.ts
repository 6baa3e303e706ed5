import { Client } from '@neondatabase/serverless'
import { LazyDbError } from '../../errors.js'
import { importAtRuntime } from '../../runtime-import.js'
import type { Params, QueryResult, TransactionOptions } from '../../types.js'
import type { DriverConfig, DriverTransaction } from '../contract.js'
import { asError, connectFailure, connectionBroken } from './errors.js'
import { beginStatement, positional, searchPathSql, toResult, type ResultLike } from './sql.js'

// WebSocket sessions, shared by both Neon transports (neon-http opens one per interactive
// transaction; neon-ws pools them): the WebSocket and its settings, opening and ending a client,
// and an interactive transaction on one session.

/** How long `close()` waits for a graceful end before it destroys the sockets. */
export const CLOSE_TIMEOUT_MS = 1000
/** How long a forced rollback waits for its ROLLBACK before it drops the session instead. */
const FORCED_ROLLBACK_MS = 100

// --- WebSocket settings -----------------------------------------------------------------------

/** Driver settings that the WebSocket transport takes per client (`client.neonConfig`). */
const SOCKET_SETTINGS = [
  'wsProxy',
  'useSecureWebSocket',
  'pipelineConnect',
  'pipelineTLS',
  'forceDisablePgSSL',
  'coalesceWrites',
  'disableSNI',
  'rootCerts',
  'subtls',
] as const

export type SocketSettings = Record<string, unknown>

// `ws` is an optional peer, for Node < 22 only, loaded through the core's runtime loader (which the
// Worker/edge build of the core lacks: those runtimes have a global WebSocket).
let wsModule: Promise<unknown> | undefined

/** `options.webSocketConstructor`, else the runtime's WebSocket, else the `ws` package (Node 20). */
async function webSocketConstructor(config: DriverConfig): Promise<unknown> {
  const given = config.options.webSocketConstructor
  if (given !== undefined) return given
  const native = (globalThis as { WebSocket?: unknown }).WebSocket
  if (typeof native === 'function') return native
  const noWebSocket = `database "${config.alias}" (${config.driver}): this runtime has no global WebSocket`
  if (importAtRuntime === undefined) {
    throw new LazyDbError(
      'DRIVER_MISSING',
      `${noWebSocket}, and this build (Workers, edge, browsers) does not load ws. Pass { webSocketConstructor }`,
      { database: config.alias },
    )
  }
  try {
    const mod = (await (wsModule ??= importAtRuntime('ws'))) as { WebSocket?: unknown; default?: unknown }
    return mod.WebSocket ?? mod.default
  } catch (error) {
    wsModule = undefined
    throw new LazyDbError(
      'DRIVER_MISSING',
      `${noWebSocket} (Node 20 has none) and the optional package ws is not installed. ` +
        'Run: npm install ws, or pass { webSocketConstructor }',
      { database: config.alias, cause: error },
    )
  }
}

export async function socketSettings(config: DriverConfig): Promise<SocketSettings> {
  const settings: SocketSettings = { webSocketConstructor: await webSocketConstructor(config) }
  for (const name of SOCKET_SETTINGS) if (config.options[name] !== undefined) settings[name] = config.options[name]
  return settings
}

export function configure(client: Client, settings: SocketSettings): void {
  Object.assign(client.neonConfig, settings)
}

// --- Opening and ending a client ------------------------------------------------------------------

export type Closable = Pick<Client, 'end'> & { connection?: unknown }

/** Kills a client's socket at once (no goodbye): for connections that dropped or hang. */
export function destroyClient(client: Closable): void {
  const stream = (
    client.connection as
      | { stream?: { ws?: { terminate?(): void; close?(): void } | null; destroy?(): void } }
      | undefined
  )?.stream
  try {
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

/** A standalone WebSocket session (neon-http's interactive transactions). */
export async function openSession(
  url: string,
  settings: SocketSettings,
): Promise<{ client: Client; isDead(): boolean }> {
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
