// The TCP drivers the benchmarks compare against the real local servers: pg (node-postgres) and
// postgres.js on PostgreSQL, mysql2 on MariaDB. Each has the lazydb database as a user configures it
// and the raw pool a careful user keeps at module scope, both of POOL_MAX connections. Every side
// connects as a bench-only server user (a PostgreSQL role / a MariaDB user), so the server's own
// connection list counts exactly the benchmark's connections, whatever application_name a driver sends.
import { support } from './util.mjs'

export const POOL_MAX = 10
export const BENCH_USER = 'lazydb_bench'
const MARIADB_PASSWORD = 'lazydb-bench-pw'
const MARIADB_SOCKET = '/run/mysqld/mysqld.sock'

export const TCP_TARGETS = {
  pg: { subpath: 'pg', label: 'pg (node-postgres) Pool, local PostgreSQL', server: 'postgres', packages: ['pg'] },
  postgres: { subpath: 'postgres', label: 'postgres.js, local PostgreSQL', server: 'postgres', packages: ['postgres'] },
  mysql2: { subpath: 'mysql2', label: 'mysql2 Pool, local MariaDB', server: 'mariadb', packages: ['mysql2/promise'] },
}

/** The URL of the bench user's database on `host:port` (the real server's, or a proxy's in front of it). */
export function tcpUrl(name, { port, tag = 'lazydb-bench' } = {}) {
  if (TCP_TARGETS[name].server === 'mariadb') {
    return `mysql://${BENCH_USER}:${MARIADB_PASSWORD}@127.0.0.1:${port ?? 3306}/lazydb_test`
  }
  return `postgres://${BENCH_USER}@127.0.0.1:${port ?? 5432}/test?application_name=${encodeURIComponent(tag)}`
}

/** The real server's address, for a proxy to forward to. */
export const serverAddress = (name) =>
  TCP_TARGETS[name].server === 'mariadb' ? { host: '127.0.0.1', port: 3306 } : { host: '127.0.0.1', port: 5432 }

/** A root connection to MariaDB over its Unix socket (unix_socket auth, answered with nothing). */
async function mariadbRoot() {
  const mysql = await import('mysql2/promise')
  return mysql.createConnection({
    socketPath: MARIADB_SOCKET,
    user: 'root',
    authPlugins: { unix_socket: () => () => Buffer.alloc(0) },
  })
}

/** A PostgreSQL superuser connection (trust auth), tagged so it is never counted as the bench's. */
async function pgAdmin() {
  const { default: pg } = await import('pg')
  const client = new pg.Client({
    connectionString: 'postgres://postgres@127.0.0.1:5432/test',
    application_name: 'lazydb-bench-monitor',
  })
  client.on('error', () => {})
  await client.connect()
  return client
}

/** Idempotently creates the bench user on the target's server (parent process only). */
export async function prepareServer(name) {
  if (TCP_TARGETS[name].server === 'mariadb') {
    const { setupMariadb, ensureMariadbUser } = await support('mariadb')
    await setupMariadb()
    await ensureMariadbUser(BENCH_USER, MARIADB_PASSWORD)
    return
  }
  const admin = await pgAdmin()
  try {
    const { rows } = await admin.query('select 1 from pg_roles where rolname = $1', [BENCH_USER])
    if (rows.length === 0) await admin.query(`create role ${BENCH_USER} login`).catch(() => {}) // a race is fine
  } finally {
    await admin.end()
  }
}

/**
 * Counts the bench user's open connections on the target's server (the counting connection is not
 * the bench user's). `sample(everyMs)` polls until stop() and resolves with the peak; `drain()`
 * waits (bounded) until none is left.
 */
export async function serverConnections(name) {
  const mariadb = TCP_TARGETS[name].server === 'mariadb'
  const conn = mariadb ? await mariadbRoot() : await pgAdmin()
  const count = mariadb
    ? async () => {
        const [rows] = await conn.query('SELECT COUNT(*) AS n FROM information_schema.processlist WHERE USER = ?', [
          BENCH_USER,
        ])
        return Number(rows[0].n)
      }
    : async () => {
        const r = await conn.query('select count(*)::int as n from pg_stat_activity where usename = $1', [BENCH_USER])
        return r.rows[0].n
      }
  const sample = (everyMs = 5) => {
    let peak = 0
    let samples = 0
    let running = true
    const loop = (async () => {
      while (running) {
        peak = Math.max(peak, await count())
        samples++
        await new Promise((resolve) => setTimeout(resolve, everyMs))
      }
      return { peak: Math.max(peak, await count()), samples: samples + 1 }
    })()
    return { stop: () => ((running = false), loop) }
  }
  const drain = async (timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs
    let n = await count()
    while (n > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25))
      n = await count()
    }
    return n
  }
  return { count, sample, drain, close: () => conn.end() }
}

/** The lazydb Database for `name`, as a user configures it: the URL and the pool size. */
export async function lazydbTcpDatabase(name, env, extra = {}) {
  const options = { max: POOL_MAX, ...extra }
  if (name === 'pg') return (await import('@lazydb/core/pg')).pg(env.BENCH_URL, options)
  if (name === 'postgres') return (await import('@lazydb/core/postgres')).postgres(env.BENCH_URL, options)
  return (await import('@lazydb/core/mysql2')).mysql2(env.BENCH_URL, options)
}

/**
 * The raw pool a careful user keeps at module scope. `call(text)` is the driver's own call, untouched
 * (what the warm row times); `query(text, params)` gives `{ rows }` for the rows that count rows.
 */
export async function rawTcpClient(name, env, { max = POOL_MAX } = {}) {
  if (name === 'pg') {
    const { Pool } = await import('pg')
    const pool = new Pool({ connectionString: env.BENCH_URL, max })
    pool.on('error', () => {})
    const call = (text, params) => pool.query(text, params)
    return { call, query: call, close: () => pool.end() }
  }
  if (name === 'postgres') {
    const { default: postgres } = await import('postgres')
    const sql = postgres(env.BENCH_URL, { max, onnotice: () => {} })
    const call = (text, params) => sql.unsafe(text, params)
    return { call, query: async (text, params) => ({ rows: [...(await call(text, params))] }), close: () => sql.end() }
  }
  const { createPool } = await import('mysql2/promise')
  const pool = createPool({ uri: env.BENCH_URL, connectionLimit: max })
  const call = (text, params) => pool.query(text, params)
  return { call, query: async (text, params) => ({ rows: (await call(text, params))[0] }), close: () => pool.end() }
}
