// Shared by the ORM suites (test/orm/*.test.ts): deadlines, the local backends each driver reaches
// (Neon gateways, the PlanetScale gateway on a MariaDB user of the suite's own, a temp libSQL file),
// and independent readers (pg, mysql2, a second libSQL client) that check what the ORMs committed.
import { createClient, type Client as LibsqlClient } from '@libsql/client'
import pg from 'pg'
import ws from 'ws'
import type { Registry } from '@lazydb/core'
import type { NeonOptions } from '@lazydb/core/neon'
import { ensureMariadbUser, MARIADB_CREDENTIALS, mysqlDirect, setupMariadb } from '../support/mariadb.js'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { startPlanetscaleGateway, type PlanetscaleGateway } from '../support/planetscale-gateway.js'
import { PG_URL, pgConnectionCount, pgUrlFor } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'

/** `promise`, or a rejection naming `what` once `ms` have passed with it still pending: a hang fails fast. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** The messages of `error` and its `cause` chain, for matching the driver's error inside an ORM's wrapper. */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await within(promise, STEP_MS, 'expected rejection')
  } catch (error) {
    const messages: string[] = []
    for (let e: unknown = error; e instanceof Error && messages.length < 8; e = e.cause) messages.push(e.message)
    return messages.join(' <- ')
  }
  throw new Error('expected a rejection, but it resolved')
}

/** How long one invocation, one independent check or one teardown step may take before the test fails. */
export const STEP_MS = 5000

/** Table and application names unique to this process, so parallel suites never meet. */
export const unique = (prefix: string) => `${prefix}_${process.pid}`

/**
 * Options without `transport`/`driver`: spread into `neon()`'s options they keep the overload that types
 * `client()` (a value typed as the whole `NeonOptions` would make it `NeonHttpClient | Pool`).
 */
type SocketOptions = Pick<NeonOptions, 'wsProxy' | 'useSecureWebSocket' | 'pipelineConnect' | 'webSocketConstructor'>

/** The Neon gateways and the options lazydb needs to reach them (plain ws://, trust auth). */
export interface NeonBackend {
  /** For `neon(url, …)` over HTTP: the endpoint, plus the WebSocket options its sessions use. */
  http: SocketOptions & Pick<NeonOptions, 'fetchEndpoint'>
  /** For `neon(url, { transport: 'ws', … })`. */
  ws: SocketOptions
  url(applicationName: string): string
  close(): Promise<void>
}

export async function startNeon(): Promise<NeonBackend> {
  const [httpGateway, wsGateway]: [NeonHttpGateway, NeonWsGateway] = await Promise.all([
    startNeonHttpGateway(),
    startNeonWsGateway(),
  ])
  const socket: SocketOptions = {
    wsProxy: wsGateway.wsProxy,
    useSecureWebSocket: false,
    pipelineConnect: false,
    webSocketConstructor: ws,
  }
  return {
    http: { fetchEndpoint: httpGateway.endpoint, ...socket },
    ws: socket,
    url: (applicationName) => pgUrlFor('ep-lazydb-orm.neon.test', { password: 'not-checked', applicationName }),
    close: async () => {
      await Promise.all([httpGateway.close(), wsGateway.close()])
    },
  }
}

/** A PlanetScale gateway logged in to MariaDB as a user of this suite's own. */
export async function startPlanetscale(user: string): Promise<PlanetscaleGateway> {
  await setupMariadb()
  const password = `${user}-pw-7319`
  await ensureMariadbUser(user, password, [MARIADB_CREDENTIALS.database])
  return startPlanetscaleGateway({
    mysql: { host: '127.0.0.1', port: 3306, user, password, database: MARIADB_CREDENTIALS.database },
  })
}

/** What an independent client sees of a table: its bodies in id order, and one row by body. */
export interface Reader {
  bodies(table: string): Promise<string[]>
  n(table: string, body: string): Promise<number | undefined>
  drop(table: string): Promise<void>
  close(): Promise<void>
}

/** A pg client straight to PostgreSQL, outside lazydb and the gateways. */
export async function pgReader(): Promise<Reader & { backends(applicationName: string): Promise<number> }> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  await within(client.connect(), STEP_MS, 'pg reader connect')
  const rows = async (text: string, params: unknown[] = []) =>
    (await within(client.query(text, params), STEP_MS, `pg reader: ${text}`)).rows
  return {
    bodies: async (table) => (await rows(`select body from ${table} order by id`)).map((r) => String(r.body)),
    n: async (table, body) => (await rows(`select n from ${table} where body = $1`, [body]))[0]?.n,
    drop: async (table) => void (await rows(`drop table if exists ${table}`)),
    backends: (applicationName) => within(pgConnectionCount(applicationName), STEP_MS, 'pg_stat_activity'),
    close: () => within(client.end(), STEP_MS, 'pg reader end'),
  }
}

/** A mysql2 connection straight to MariaDB, outside the PlanetScale gateway. */
export async function mysqlReader(): Promise<Reader> {
  const conn = await within(mysqlDirect(), STEP_MS, 'mysql2 reader connect')
  const rows = async (text: string, params: unknown[] = []) =>
    (await within(conn.query(text, params), STEP_MS, `mysql2 reader: ${text}`))[0] as Record<string, unknown>[]
  return {
    bodies: async (table) => (await rows(`select body from ${table} order by id`)).map((r) => String(r.body)),
    n: async (table, body) => {
      const n = (await rows(`select n from ${table} where body = ?`, [body]))[0]?.n
      return n === undefined ? undefined : Number(n)
    },
    drop: async (table) => void (await rows(`drop table if exists ${table}`)),
    close: () => within(conn.end(), STEP_MS, 'mysql2 reader end'),
  }
}

/** A temp SQLite file for lazydb's libSQL database, and a second libSQL client on it. */
export function libsqlFile(): { url: string; reader(): Reader; remove(): void } {
  const dir = tempDir('lazydb-orm-')
  const url = `file:${dir.file('orm.db')}`
  return {
    url,
    reader() {
      const client: LibsqlClient = createClient({ url })
      const rows = async (text: string, args: Array<string | number> = []) =>
        (await within(client.execute({ sql: text, args }), STEP_MS, `libsql reader: ${text}`)).rows
      return {
        bodies: async (table) => (await rows(`select body from ${table} order by id`)).map((r) => String(r.body)),
        n: async (table, body) => {
          const n = (await rows(`select n from ${table} where body = ?`, [body]))[0]?.n
          return n === undefined ? undefined : Number(n)
        },
        drop: async (table) => void (await rows(`drop table if exists ${table}`)),
        close: async () => client.close(),
      }
    },
    remove: () => dir.remove(),
  }
}

/** `connects` of the default database: driver clients created so far. */
export const connects = (registry: Registry) => registry.stats().databases.default?.connects

/**
 * Runs `invoke` `count` times in a row, each raced against a deadline, and returns the distinct
 * client objects the invocations reported plus the time they took.
 */
export async function warmRun(
  count: number,
  invoke: () => Promise<unknown>,
): Promise<{ clients: Set<unknown>; ms: number }> {
  const clients = new Set<unknown>()
  const started = performance.now()
  for (let i = 0; i < count; i++) clients.add(await within(invoke(), STEP_MS, `warm invocation ${i + 1}`))
  return { clients, ms: Math.round(performance.now() - started) }
}

/** One line per suite with the figures the report quotes (stdout, visible with --reporter=verbose). */
export function figures(suite: string, values: Record<string, unknown>): void {
  console.info(`[orm figures] ${suite}: ${JSON.stringify(values)}`)
}
