// The MySQL GET_LOCK runner (what migrate() uses for the mysql2 driver) against the real MariaDB. The
// mysql2 driver itself is not on this branch, so each "database" here is a thin stand-in with the
// Database shape the runner uses (driver, name, query, transaction on one pooled connection, as a
// pool driver's transaction holds one), over real mysql2 connections: the runner, the lock and the
// server are real; only lazydb's own mysql2 driver is not. Delete this file once that driver is merged
// and test/integration/migrations.test.ts runs over it.
import { cpSync, writeFileSync } from 'node:fs'
import mysql from 'mysql2/promise'
import { afterAll, describe, expect, it } from 'vitest'
import { LazyDbError, type Registry } from '@lazydb/core'
import { migrate, migrationStatus } from '@lazydb/core/migrate'
import type { QueryResult, Transaction, TransactionOptions } from '../../src/types.js'
import { tempDir } from '../support/tmp.js'
import { MARIADB_CREDENTIALS, MARIADB_SOCKET, requireMariadb, setupMariadb } from '../support/mariadb.js'

const myUp = await requireMariadb()
const FIVE = new URL('../fixtures/migrations/five', import.meta.url).pathname
const FILES = [
  '0001_create_users.sql',
  '0002_create_notes.sql',
  '0003_seed.sql',
  '0004_add_name.sql',
  '0005_backfill.sql',
]
const DB = `lazydb_getlock_${process.pid}`
const pools: mysql.Pool[] = []

async function asRoot<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({
    socketPath: MARIADB_SOCKET,
    user: 'root',
    authPlugins: { unix_socket: () => () => Buffer.alloc(0) },
  })
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()))
  if (myUp) await asRoot((c) => c.query(`DROP DATABASE IF EXISTS \`${DB}\``))
})

function toResult(result: unknown): QueryResult {
  const [rows] = result as [unknown]
  if (Array.isArray(rows)) return { rows: rows as Record<string, unknown>[], rowCount: rows.length, columns: [] }
  return { rows: [], rowCount: (rows as { affectedRows: number }).affectedRows, columns: [] }
}

function failed(error: unknown): never {
  const e = error as { message: string; errno?: number; sqlState?: string }
  throw new LazyDbError('QUERY_FAILED', e.message, { errno: e.errno, sqlState: e.sqlState, cause: error })
}

/** A registry whose default database is a mysql2 pool of its own, shaped as the runner uses a Database. */
function registryOver(pool: mysql.Pool): Registry {
  const run = (q: mysql.Pool | mysql.PoolConnection, text: string, params?: unknown) =>
    q.query(text, params as unknown[]).then(toResult, failed)
  const database = {
    name: 'default',
    driver: 'mysql2',
    query: (text: string, params?: unknown) => run(pool, text, params),
    async transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
      const conn = await pool.getConnection()
      try {
        if (options?.isolationLevel) await conn.query(`SET TRANSACTION ISOLATION LEVEL ${options.isolationLevel}`)
        await conn.query('BEGIN')
        const tx = { query: (text: string, params?: unknown) => run(conn, text, params) } as Transaction
        try {
          const result = await fn(tx)
          await conn.query('COMMIT')
          return result
        } catch (error) {
          await conn.query('ROLLBACK')
          throw error
        }
      } finally {
        conn.release()
      }
    },
  }
  return { using: () => database, extra: {} } as unknown as Registry
}

async function newPool(): Promise<mysql.Pool> {
  const pool = mysql.createPool({ ...(await setupMariadb()), database: DB, connectionLimit: 2 })
  pools.push(pool)
  return pool
}

describe.skipIf(!myUp)('migrations with GET_LOCK (the mysql2 path) on MariaDB', () => {
  it('ten runners on their own connections at once apply each file once; the lock is free afterwards', async () => {
    await setupMariadb()
    await asRoot(async (c) => {
      await c.query(`CREATE DATABASE \`${DB}\``)
      for (const host of ['127.0.0.1', 'localhost']) {
        await c.query(`GRANT ALL PRIVILEGES ON \`${DB}\`.* TO ?@?`, [MARIADB_CREDENTIALS.user, host])
      }
    })
    const registries = await Promise.all(Array.from({ length: 10 }, async () => registryOver(await newPool())))
    const results = await Promise.all(registries.map((r) => migrate(r, { dir: FIVE, lockTimeoutMs: 20_000 })))
    expect(results.flatMap(([r]) => r!.applied).sort()).toEqual(FILES)
    const pool = pools[0]!
    const [runs] = await pool.query('select file, count(*) as n from mig_runs group by file order by file')
    expect((runs as Array<{ file: string; n: number }>).map((r) => [r.file, Number(r.n)])).toEqual(
      ['0001', '0002', '0003', '0004', '0005'].map((f) => [f, 1]),
    )
    const [status] = await migrationStatus(registries[3]!, { dir: FIVE })
    expect(status!.migrations.map((m) => m.state)).toEqual(FILES.map(() => 'applied'))
    const [free] = await pool.query(`select is_free_lock(concat('lazydb_mig_', sha1(?))) as free`, [DB])
    expect(Number((free as Array<{ free: number }>)[0]!.free)).toBe(1)
  }, 60_000)

  it('gives up with TIMEOUT while another session holds the lock, and applies once it is released', async () => {
    const holder = await (await newPool()).getConnection()
    const registry = registryOver(await newPool())
    const extra = tempDir('lazydb-getlock-')
    cpSync(FIVE, extra.dir, { recursive: true })
    writeFileSync(extra.file('0006_more.sql'), "insert into mig_runs (file) values ('0006');\n")
    const dir = extra.dir
    try {
      const [got] = await holder.query(`select get_lock(concat('lazydb_mig_', sha1(?)), 0) as got`, [DB])
      expect(Number((got as Array<{ got: number }>)[0]!.got)).toBe(1)
      const error = await migrate(registry, { dir, lockTimeoutMs: 1000 }).catch((e: unknown) => e)
      expect((error as LazyDbError).code).toBe('TIMEOUT')
      await holder.query(`select release_lock(concat('lazydb_mig_', sha1(?)))`, [DB])
      const [result] = await migrate(registry, { dir, lockTimeoutMs: 5000 })
      expect(result).toEqual({ database: 'default', applied: ['0006_more.sql'], skipped: FILES, pending: [] })
    } finally {
      holder.release()
      extra.remove()
    }
  }, 30_000)
})
