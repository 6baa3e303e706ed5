import { Client } from '@neondatabase/serverless'
import { LazyDbError } from '../../errors.js'
import { importAtRuntime } from '../../runtime-import.js'
import type { DriverConfig } from '../contract.js'
import { connectFailure } from '../pg-common/errors.js'
import { destroyClient } from '../pg-common/session.js'

// Neon's WebSocket transport, shared by both Neon drivers (neon-http opens a session per interactive
// transaction; neon-ws pools them): the WebSocket constructor, the per-client socket settings, and a
// standalone session.

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
