// lazydb's pg driver (node-postgres's Pool over TCP), straight against the real local PostgreSQL.
import { inspect } from 'node:util'
import type { Pool } from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { pg } from '@lazydb/core/pg'
import { conformance, type Dialect } from '../support/conformance.js'
import { exposed } from '../support/exposed.js'
import { pgAdmin, pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'

const pgUp = await requirePostgres()
const PID = process.pid
const PASSWORD = 'pg-driver-s3cret'
const APP = `lazydb-pg-${PID}`
/** Trust auth ignores the password; it is there to prove it never shows. */
const urlFor = (app: string) => pgUrlFor(undefined, { password: PASSWORD, applicationName: app })

const pgDialect: Dialect = {
  param: (n) => `$${n}`,
  createTable: (t) => `create table ${t} (id bigserial primary key, name text unique)`,
  dropTable: (t) => `drop table if exists ${t}`,
  uniqueSqlState: '23505',
  lastInsertId: false,
}

const opened: Registry[] = []
const open = (database: ConstructorParameters<typeof Registry>[0]['database']) => {
  const registry = new Registry({ database, platform: 'node', warn: false })
  opened.push(registry)
  return registry
}
afterAll(async () => {
  await Promise.all(opened.map((r) => r.disconnect({ force: true })))
})

conformance('pg (URL only)', pgDialect, async () => ({ registry: open(urlFor(`${APP}-conf-url`)) }), pgUp)
conformance('pg (factory)', pgDialect, async () => ({ registry: open(pg(urlFor(`${APP}-conf`))) }), pgUp)

describe.skipIf(!pgUp)('pg driver', () => {
  it('a postgres:// URL to a non-Neon host picks pg; client() is typed as the Pool', async () => {
    const registry = open(pg(urlFor(`${APP}-type`), { max: 3 }))
    expect(open(urlFor(APP)).database.driver).toBe('pg')
    const pool: Pool = await registry.database.client()
    expect(pool.options.max).toBe(3)
    expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }])
  })

  it('maps Postgres types: int8 and numeric as strings, json parsed, bytea, timestamptz, arrays, null', async () => {
    const registry = open(urlFor(`${APP}-types`))
    const { rows } = await registry.database.query(
      `select 9007199254740993::int8 as big, 1.50::numeric as num, '{"a":[1,2]}'::json as j,
        $1::bytea as bin, $2::timestamptz as ts, array[1,2,null]::int[] as arr, null::text as nothing, true as flag`,
      [Buffer.from([1, 2, 255]), new Date('2020-05-06T07:08:09.010Z')],
    )
    const row = rows[0]!
    expect(row).toMatchObject({ big: '9007199254740993', num: '1.50', j: { a: [1, 2] }, arr: [1, 2, null] })
    expect(row).toMatchObject({ nothing: null, flag: true })
    expect(Buffer.from(row.bin as Uint8Array).toString('hex')).toBe('0102ff')
    expect((row.ts as Date).toISOString()).toBe('2020-05-06T07:08:09.010Z')
    expect(await registry.database.query('select :a', { a: 1 }).catch((e: unknown) => e)).toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })

  it('binds a schema to its statement only: with max 1, the next plain statement sees the default path', async () => {
    const schema = `lazydb_pg_s_${PID}`
    const table = `lazydb_pg_same_${PID}`
    await pgAdmin(`drop schema if exists ${schema} cascade; drop table if exists public.${table};
      create schema ${schema}; create table ${schema}.${table} (v text);
      insert into ${schema}.${table} values ('schema');
      create table public.${table} (v text); insert into public.${table} values ('public')`)
    const registry = open(pg(urlFor(`${APP}-schema`), { max: 1 }))
    try {
      const plain = registry.database
      const scoped = registry.using(undefined, { schema })
      expect((await scoped.query(`select v from ${table}`)).rows).toEqual([{ v: 'schema' }])
      expect((await scoped.query(`select v from ${table} where v = $1`, ['schema'])).rows).toEqual([{ v: 'schema' }])
      expect((await plain.query(`select v from ${table}`)).rows).toEqual([{ v: 'public' }])
      const [, count] = await scoped.batch([
        { text: `insert into ${table} values ($1)`, params: ['batched'] },
        { text: `select count(*)::int as n from ${table}` },
      ])
      expect(count!.rows).toEqual([{ n: 2 }])
      const inside = await scoped.transaction(
        async (tx) => (await tx.query<{ s: string }>('select current_schema() as s')).rows[0],
      )
      expect(inside).toEqual({ s: schema })
      expect((await plain.query<{ search_path: string }>('show search_path')).rows[0]!.search_path).toBe(
        '"$user", public',
      )
    } finally {
      await pgAdmin(`drop schema if exists ${schema} cascade; drop table if exists public.${table}`)
    }
  })

  it('runs transactions with isolation and read-only options; a swallowed error makes COMMIT fail', async () => {
    const table = `lazydb_pg_tx_${PID}`
    const db = open(urlFor(`${APP}-tx`)).database
    await db.query(`drop table if exists ${table}`)
    await db.query(`create table ${table} (v int)`)
    try {
      const shown = await db.transaction(async (tx) => (await tx.query('show transaction_isolation')).rows[0], {
        isolationLevel: 'serializable',
        readOnly: true,
      })
      expect(shown).toEqual({ transaction_isolation: 'serializable' })
      const readOnly = await db
        .transaction((tx) => tx.query(`insert into ${table} values (1)`), { readOnly: true })
        .catch((e: unknown) => e)
      expect(readOnly).toMatchObject({ code: 'QUERY_FAILED', sqlState: '25006' })
      const swallowed = await db
        .transaction(async (tx) => {
          await tx.query(`insert into ${table} values (1)`)
          await tx.query('select 1/0').catch(() => undefined)
        })
        .catch((e: unknown) => e)
      expect(swallowed).toMatchObject({ code: 'QUERY_FAILED', sqlState: '25P02' })
      expect((await db.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 0 }])
    } finally {
      await db.query(`drop table if exists ${table}`)
    }
  })

  it('a manual BEGIN through query() is rolled back and reported; the pooled connection comes back clean', async () => {
    const table = `lazydb_pg_manual_${PID}`
    const db = open(pg(urlFor(`${APP}-manual`), { max: 1 })).database
    await db.query(`drop table if exists ${table}`)
    await db.query(`create table ${table} (v int)`)
    try {
      const error = await db.query(`begin; insert into ${table} values (1)`).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED', mayHaveRun: true })
      expect((await db.query('select now() = statement_timestamp() as fresh')).rows).toEqual([{ fresh: true }])
      expect((await db.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 0 }])
    } finally {
      await db.query(`drop table if exists ${table}`)
    }
  })

  it('a failing statement carries its SQLSTATE; the password shows nowhere', async () => {
    const registry = open(urlFor(`${APP}-err`))
    const error = (await registry.database
      .query('select * from (values (1)) v where 1 = (select 1/0)')
      .catch((e: unknown) => e)) as LazyDbError
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'QUERY_FAILED', sqlState: '22012', database: 'default' })
    expect(exposed(error)).not.toContain(PASSWORD)
    expect(inspect(registry, { depth: 20 })).not.toContain(PASSWORD)
    expect(inspect(registry.database, { depth: 20 })).not.toContain(PASSWORD)
    expect(registry.database.url).toContain(':***@')
  })

  it('an idle pooled connection terminated by the server is replaced before the next query', async () => {
    const app = `${APP}-terminated`
    const registry = open(urlFor(app))
    const first = (await registry.database.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
    await pgAdmin(`select pg_terminate_backend(${first})`)
    await waitForConnectionCount(0, app)
    const second = (await registry.database.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
    expect(second).not.toBe(first)
    expect(registry.stats().databases.default).toMatchObject({ errors: 0 })
  })

  it('unreachable at cold start: CONNECT_FAILED naming host:port, not the password, in bounded time', async () => {
    const registry = new Registry({
      database: `postgres://postgres:${PASSWORD}@127.0.0.1:1/test`,
      retry: { attempts: 2, totalMs: 500 },
      platform: 'node',
      warn: false,
    })
    const started = Date.now()
    const error = (await registry.database.query('select 1').catch((e: unknown) => e)) as LazyDbError
    expect(Date.now() - started).toBeLessThan(5000)
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' })
    expect(error.message).toContain('127.0.0.1:1')
    expect(exposed(error)).not.toContain(PASSWORD)
  })

  it('forced disconnect settles checkouts waiting for a busy pool, and leaves no server connection', async () => {
    const app = `${APP}-forced`
    const registry = open(pg(urlFor(app), { max: 1 }))
    const work = Array.from({ length: 5 }, () =>
      registry.database.query('select pg_sleep(0.3)').then(
        () => 'ok',
        (e: LazyDbError) => e.code,
      ),
    )
    await new Promise((r) => setTimeout(r, 100))
    await registry.disconnect({ force: true })
    const outcomes = await Promise.race([Promise.all(work), new Promise<string>((r) => setTimeout(r, 3000, 'hung'))])
    expect(outcomes).not.toBe('hung')
    for (const outcome of outcomes as string[]) expect(['ok', 'CLOSED', 'CONNECTION_LOST']).toContain(outcome)
    expect((outcomes as string[]).filter((o) => o === 'CLOSED').length).toBeGreaterThan(0)
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it('closes every server connection on disconnect', async () => {
    const app = `${APP}-close`
    const registry = new Registry({ database: pg(urlFor(app), { max: 4 }), platform: 'node', warn: false })
    await Promise.all(Array.from({ length: 4 }, () => registry.database.query('select pg_sleep(0.05)')))
    expect(await pgConnectionCount(app)).toBeGreaterThan(0)
    await registry.disconnect()
    expect(await pgConnectionCount(app)).toBe(0)
  })
})
