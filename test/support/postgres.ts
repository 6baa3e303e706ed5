import pg from 'pg'
import { underCi } from './ci.js'

/** The local PostgreSQL 15 (trust auth). */
export const PG_HOST = '127.0.0.1'
export const PG_PORT = 5432
export const PG_URL = `postgres://postgres@${PG_HOST}:${PG_PORT}/test`
export const PG_START_COMMAND = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'

export interface PgUrlOptions {
  password?: string
  database?: string
  applicationName?: string
}

/**
 * A connection string for the drivers. `hostPort` defaults to the real server; the Neon
 * gateways ignore the host and always reach 127.0.0.1:5432, so a Neon-looking host such as
 * `ep-test.neon.tech` works too. No password is needed: trust auth never asks for one, and
 * with `pipelineConnect: false` the WebSocket driver sends none unasked (any password given
 * here is ignored by trust auth).
 */
export function pgUrlFor(hostPort = `${PG_HOST}:${PG_PORT}`, options: PgUrlOptions = {}): string {
  const auth = options.password === undefined ? 'postgres' : `postgres:${encodeURIComponent(options.password)}`
  const query =
    options.applicationName === undefined ? '' : `?application_name=${encodeURIComponent(options.applicationName)}`
  return `postgres://${auth}@${hostPort}/${options.database ?? 'test'}${query}`
}

/** The same database behind a fake Neon host and password, as the drivers see it in tests. */
export const NEON_URL = pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked' })

async function withClient<T>(fn: (client: pg.Client) => Promise<T>, url = PG_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  client.on('error', () => {})
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export async function postgresAvailable(url = PG_URL): Promise<boolean> {
  try {
    await withClient((client) => client.query('SELECT 1'), url)
    return true
  } catch {
    return false
  }
}

/**
 * True when PostgreSQL is up. Under CI (CI set to anything but "", "false" or "0": see underCi) a
 * missing server is an error; elsewhere a message is printed and false returned so tests can skip
 * (`describe.skipIf(!ok)`, `ctx.skip()`).
 */
export async function requirePostgres(url = PG_URL): Promise<boolean> {
  if (await postgresAvailable(url)) return true
  const { host } = new URL(url)
  const what = `PostgreSQL on ${host} (trust auth, user postgres, database test)`
  if (underCi()) {
    throw new Error(`${what} is required under CI but is not reachable. Start it with: ${PG_START_COMMAND}`)
  }
  console.warn(`Skipping tests that need ${what}: it is not reachable. Start it with: ${PG_START_COMMAND}`)
  return false
}

/** Server connections to database `test` (optionally one application_name), not counting this query's own. */
export async function pgConnectionCount(applicationName?: string): Promise<number> {
  return withClient(async (client) => {
    const filter = applicationName === undefined ? '' : ' AND application_name = $1'
    const result = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'test' AND pid <> pg_backend_pid()${filter}`,
      applicationName === undefined ? [] : [applicationName],
    )
    return result.rows[0]?.n ?? 0
  })
}

/** Polls until pgConnectionCount(applicationName) equals `expected` (backends exit asynchronously). */
export async function waitForConnectionCount(
  expected: number,
  applicationName?: string,
  timeoutMs = 3000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const n = await pgConnectionCount(applicationName)
    if (n === expected || Date.now() > deadline) return n
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Runs one statement as the admin user on a short-lived connection (setup and teardown). */
export async function pgAdmin(sql: string): Promise<void> {
  const client = new pg.Client(PG_URL)
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
