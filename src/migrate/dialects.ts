// Per database family: the history table, how to read it, and the lock that lets exactly one runner
// apply a migration while the others wait. Every lock is taken per migration, inside (or around) that
// migration's own transaction, and the runner re-reads the history under it: no lock needs a session
// that outlives one transaction, so any transport that can run a transaction() can migrate.
import { randomUUID } from 'node:crypto'
import type { Database } from '../database.js'
import { LazyDbError } from '../errors.js'
import type { Transaction } from '../types.js'

export const HISTORY = 'lazydb_migrations'
const LEASE = 'lazydb_migrations_lock'

export interface HistoryRow {
  name: string
  checksum: string
  appliedAt: string
  durationMs: number
}

export interface Dialect {
  readonly family: 'postgres' | 'mysql' | 'sqlite'
  /** `$n` or `?`. */
  param(n: number): string
  /** Whether a failed migration leaves nothing behind (false: MySQL commits DDL at once). */
  readonly atomic: boolean
  /** Whether CREATE TABLE IF NOT EXISTS is safe without the lock (MySQL: yes; Postgres can fail on a race). */
  readonly createsSafely: boolean
  readonly createHistory: string
  /** Runs `fn` holding the migration lock, in one transaction (less what MySQL commits implicitly). */
  locked<T>(db: Database, lockTimeoutMs: number, fn: (tx: Transaction) => Promise<T>): Promise<T>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const jitter = () => 20 + Math.random() * 80

function lockTimeout(db: Database, ms: number, how: string, cause?: unknown): LazyDbError {
  return new LazyDbError(
    'TIMEOUT',
    `database "${db.name}": waited ${ms} ms for the migration lock (${how}) and another runner still holds it. ` +
      'Wait for it to finish, or raise { lockTimeoutMs }',
    { database: db.name, cause },
  )
}

/** Each error in the cause chain, the error first. */
function* chain(error: unknown): Generator<Record<string, unknown>> {
  for (let e = error, i = 0; typeof e === 'object' && e !== null && i < 5; i++) {
    yield e as Record<string, unknown>
    e = (e as { cause?: unknown }).cause
  }
}

/** The history table is not there yet: no migration has run on this database. */
export function isMissingTable(error: unknown): boolean {
  for (const e of chain(error)) {
    if (e.sqlState === '42P01' || e.errno === 1146) return true
    if (typeof e.message === 'string' && /no such table|doesn't exist/i.test(e.message)) return true
  }
  return false
}

function isSqliteBusy(error: unknown): boolean {
  for (const e of chain(error)) {
    if (typeof e.code === 'string' && e.code.startsWith('SQLITE_BUSY')) return true
    if (typeof e.message === 'string' && /database is locked|SQLITE_BUSY/.test(e.message)) return true
  }
  return false
}

/**
 * Postgres (neon-http, neon-ws, pg, postgres): `pg_advisory_xact_lock` as the transaction's first
 * statement, released by its COMMIT or ROLLBACK; keyed by the current schema, so schemas migrate
 * independently. Read committed, so the history read after the lock sees what the last holder committed.
 */
const postgres: Dialect = {
  family: 'postgres',
  param: (n) => `$${n}`,
  atomic: true,
  createsSafely: false,
  createHistory:
    `create table if not exists ${HISTORY} (name text primary key, checksum text not null, ` +
    'applied_at timestamptz not null default now(), duration_ms integer not null)',
  locked(db, ms, fn) {
    return db.transaction(
      async (tx) => {
        await tx.query(`select set_config('lock_timeout', $1, true)`, [`${ms}ms`])
        try {
          await tx.query(`select pg_advisory_xact_lock(hashtext('${HISTORY}.' || current_schema()))`)
        } catch (error) {
          const timedOut = [...chain(error)].some((e) => e.sqlState === '55P03')
          throw timedOut ? lockTimeout(db, ms, 'pg_advisory_xact_lock', error) : error
        }
        // Back to the session's setting: the migration's own statements may wait for locks as usual.
        await tx.query(`set local lock_timeout to default`)
        return fn(tx)
      },
      { isolationLevel: 'read committed' },
    )
  },
}

const MYSQL_HISTORY =
  `CREATE TABLE IF NOT EXISTS ${HISTORY} (name VARCHAR(255) NOT NULL PRIMARY KEY, checksum CHAR(64) NOT NULL, ` +
  'applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), duration_ms INT NOT NULL)'
const NOW_MS = 'ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000)'
/** How long a PlanetScale lease lasts without a renewal (a statement renews it once a quarter of it has passed). */
const LEASE_MS = 120_000

/**
 * mysql2: GET_LOCK on the connection the transaction holds. It is a session lock, so DDL's implicit
 * commits do not release it; RELEASE_LOCK before the connection goes back to the pool, and a
 * connection that dies releases it on the server.
 */
const mysqlGetLock: Dialect = {
  family: 'mysql',
  param: () => '?',
  atomic: false,
  createsSafely: true,
  createHistory: MYSQL_HISTORY,
  locked(db, ms, fn) {
    const name = `CONCAT('lazydb_mig_', SHA1(COALESCE(DATABASE(), '')))`
    return db.transaction(
      async (tx) => {
        const { rows } = await tx.query<{ got: unknown }>(`SELECT GET_LOCK(${name}, ?) AS got`, [Math.ceil(ms / 1000)])
        if (Number(rows[0]?.got) !== 1) throw lockTimeout(db, ms, 'GET_LOCK')
        try {
          const result = await fn(tx)
          // Committed before the lock is let go: the next runner must see this file's history row.
          await tx.query('COMMIT')
          return result
        } finally {
          await tx.query(`SELECT RELEASE_LOCK(${name})`).catch(() => undefined)
        }
      },
      { isolationLevel: 'read committed' },
    )
  },
}

/** Databases (schema views included) whose lease table this process has created or found. */
const leaseTables = new WeakSet<Database>()

/**
 * PlanetScale: its HTTP sessions keep no server connection between transactions, and DDL ends the
 * transaction that would hold a row lock, so the lock is a lease row in a lock table: taken when free
 * or expired, renewed before every statement, freed at the end; one left by a runner that died
 * expires after LEASE_MS.
 */
const mysqlLease: Dialect = {
  family: 'mysql',
  param: () => '?',
  atomic: false,
  createsSafely: true,
  createHistory: MYSQL_HISTORY,
  async locked(db, ms, fn) {
    if (!leaseTables.has(db)) {
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${LEASE} (id INT NOT NULL PRIMARY KEY, holder CHAR(36) NOT NULL, ` +
          'expires_at BIGINT NOT NULL)',
      )
      leaseTables.add(db)
    }
    const holder = randomUUID()
    const deadline = Date.now() + ms
    // One upsert takes the row when it is free or expired (assignments see the row's old expires_at),
    // then a read says whose it is. The row stays: no DELETE/INSERT gap locks between runners.
    const take =
      `INSERT INTO ${LEASE} (id, holder, expires_at) VALUES (1, ?, ${NOW_MS} + ?) ON DUPLICATE KEY UPDATE ` +
      `holder = IF(expires_at < ${NOW_MS}, VALUES(holder), holder), ` +
      `expires_at = IF(expires_at < ${NOW_MS}, VALUES(expires_at), expires_at)`
    for (let wait = 25; ; wait = Math.min(wait * 2, 500)) {
      try {
        await db.query(take, [holder, LEASE_MS])
        const { rows } = await db.query<{ holder: string }>(`SELECT holder FROM ${LEASE} WHERE id = 1`)
        if (rows[0]?.holder === holder) break
      } catch (error) {
        // Two first INSERTs at once may deadlock or wait on each other: one of them gets the row.
        if (!(error instanceof LazyDbError && (error.errno === 1213 || error.errno === 1205))) throw error
      }
      if (Date.now() >= deadline) throw lockTimeout(db, ms, `the lease row in ${LEASE}`)
      // Backing off leaves the server to the holder, whose every statement is a request too.
      await sleep(wait / 2 + Math.random() * wait)
    }
    let renewed = Date.now()
    const renew = async () => {
      if (Date.now() - renewed < LEASE_MS / 4) return
      renewed = Date.now()
      const { rowCount } = await db.query(
        `UPDATE ${LEASE} SET expires_at = ${NOW_MS} + ? WHERE id = 1 AND holder = ?`,
        [LEASE_MS, holder],
      )
      if (rowCount === 0) {
        throw new LazyDbError(
          'TIMEOUT',
          `database "${db.name}": the migration lease expired under this runner (a statement took over ` +
            `${LEASE_MS} ms) and another runner may have taken over. Check ${HISTORY} and run again`,
          { database: db.name },
        )
      }
    }
    try {
      return await db.transaction(
        (tx) =>
          fn({
            query: async (text, params) => {
              await renew()
              return tx.query(text, params)
            },
            sql: (strings, ...values) => tx.sql(strings, ...values),
          }),
        { isolationLevel: 'read committed' },
      )
    } finally {
      await db.query(`UPDATE ${LEASE} SET expires_at = 0 WHERE id = 1 AND holder = ?`, [holder]).catch(() => undefined)
    }
  },
}

/**
 * SQLite (libSQL): BEGIN IMMEDIATE (libSQL's write transaction) takes the database's write lock.
 * libSQL opens connections with a busy timeout of 0, so a BEGIN or COMMIT that meets another
 * runner's lock would fail at once, and a statement that failed busy stays active on its connection
 * until garbage-collected, making every later COMMIT there fail ("SQL statements in progress"). So
 * the runner gives the connection a busy timeout for the migration (the client reuses its last idle
 * connection, so the PRAGMA and the transaction meet on one), puts the old one back afterwards, and
 * runs the whole transaction again if it still meets busy before it started or at its COMMIT (the
 * client rolls back a transaction whose COMMIT failed), until lockTimeoutMs.
 */
const sqlite: Dialect = {
  family: 'sqlite',
  param: () => '?',
  atomic: true,
  createsSafely: false,
  createHistory:
    `CREATE TABLE IF NOT EXISTS ${HISTORY} (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, ` +
    `applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), duration_ms INTEGER NOT NULL)`,
  async locked(db, ms, fn) {
    // Remote libSQL servers may refuse the PRAGMA: they wait for locks on their own.
    const busyTimeout = async (value?: number) => {
      const text = value === undefined ? 'PRAGMA busy_timeout' : `PRAGMA busy_timeout = ${value}`
      const { rows } = await db.query<Record<string, unknown>>(text).catch(() => ({ rows: [] }))
      return Number(Object.values(rows[0] ?? {})[0] ?? 0)
    }
    const before = await busyTimeout()
    await busyTimeout(ms)
    try {
      return await whileBusy(db, ms, (stage) =>
        db.transaction(async (tx) => {
          stage('running')
          const result = await fn(tx)
          stage('committing')
          return result
        }),
      )
    } finally {
      await busyTimeout(before)
    }
  },
}

/**
 * Runs `run` again while SQLite answers busy outside the caller's own statements: before it started
 * (`stage` not called) or at its commit (`stage('committing')`), both of which leave nothing applied.
 */
export async function whileBusy<T>(
  db: Database,
  ms: number,
  run: (stage: (now: 'running' | 'committing') => void) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const at: { stage: 'starting' | 'running' | 'committing' } = { stage: 'starting' }
    try {
      return await run((now) => {
        at.stage = now
      })
    } catch (error) {
      if (at.stage === 'running' || !isSqliteBusy(error)) throw error
      if (Date.now() >= deadline) throw lockTimeout(db, ms, 'BEGIN IMMEDIATE', error)
    }
    await sleep(jitter())
  }
}

/** The dialect for a database, by its driver. */
export function dialectOf(db: Database): Dialect {
  switch (db.driver) {
    case 'libsql':
      return sqlite
    case 'planetscale':
      return mysqlLease
    case 'mysql2':
      return mysqlGetLock
    default:
      return postgres
  }
}
