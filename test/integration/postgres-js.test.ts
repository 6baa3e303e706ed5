// lazydb's postgres driver: the unmodified postgres.js (v4) against the real local PostgreSQL.
import { execFileSync } from 'node:child_process'
import { createServer, type Socket } from 'node:net'
import { inspect } from 'node:util'
import type { Sql } from 'postgres'
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest'
import { type Database, LazyDbError, Registry } from '@lazydb/core'
import { type PostgresOptions, postgres } from '@lazydb/core/postgres'
import { conformance, type Dialect } from '../support/conformance.js'
import { exposed } from '../support/exposed.js'
import { poll } from '../support/poll.js'
import { closedPort } from '../support/ports.js'
import { pgAdmin, pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'

const pgUp = await requirePostgres()

const PID = process.pid
// A unique application_name lets connection counts ignore other test files running in parallel.
const APP = `lazydb-pgjs-${PID}`
const PASSWORD = 's3cr3t-pgjs-pw'
/** Trust auth never asks for the password, so any will do; it must still never show. */
const URL_NO_APP = pgUrlFor(undefined, { password: PASSWORD })
const urlFor = (applicationName: string) => pgUrlFor(undefined, { password: PASSWORD, applicationName })

const pgDialect: Dialect = {
  param: (n) => `$${n}`,
  createTable: (t) => `create table ${t} (id bigserial primary key, name text unique)`,
  dropTable: (t) => `drop table if exists ${t}`,
  uniqueSqlState: '23505',
  lastInsertId: false,
}

const registries: Registry[] = []
const registryFor = (options: PostgresOptions = {}, url = urlFor(APP)) => {
  const registry = new Registry({ database: postgres(url, options), warn: false })
  registries.push(registry)
  return registry
}
afterAll(async () => {
  await Promise.all(registries.map((r) => r.disconnect({ force: true }).catch(() => undefined)))
})

/** Rejects if `promise` has not settled within `ms`: what could hang races a deadline. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

conformance('postgres (factory)', pgDialect, async () => ({ registry: registryFor() }), pgUp)
conformance(
  'postgres (url + driver)',
  pgDialect,
  async () => ({ registry: new Registry({ database: { url: urlFor(APP), driver: 'postgres' }, warn: false }) }),
  pgUp,
)

describe.skipIf(!pgUp)('postgres driver (postgres.js)', () => {
  const suffix = `pgjs_${PID}`

  it('is picked by the factory and by { driver }, and tags connections with an application_name', async () => {
    expect(postgres(URL_NO_APP).driver).toBe('postgres')
    // A URL alone: pg is not imported in this file, so postgres.js, the one registered, takes it.
    expect(new Registry({ database: URL_NO_APP, warn: false }).database.driver).toBe('postgres')
    expect(new Registry({ database: { url: URL_NO_APP, driver: 'postgres' }, warn: false }).database.driver).toBe(
      'postgres',
    )
    const name = 'select current_setting($1) as app'
    const tagged = registryFor({ applicationName: `${APP}-own` }, URL_NO_APP)
    expect((await tagged.database.query(name, ['application_name'])).rows).toEqual([{ app: `${APP}-own` }])
    const byDefault = registryFor({}, URL_NO_APP)
    expect((await byDefault.database.query(name, ['application_name'])).rows).toEqual([{ app: 'lazydb' }])
    // The URL's own application_name wins over the option.
    const byUrl = registryFor({ applicationName: 'not-this' })
    expect((await byUrl.database.query(name, ['application_name'])).rows).toEqual([{ app: APP }])
    await Promise.all([tagged.disconnect(), byDefault.disconnect(), byUrl.disconnect()])
  })

  it('checks its options at construction, before any connection', () => {
    for (const bad of [{ max: 0 }, { applicationName: 5 }, { idle_timeout: -1 }, { prepare: 'no' }]) {
      let error: unknown
      try {
        new Registry({ database: postgres(URL_NO_APP, bad as never), warn: false })
      } catch (e) {
        error = e
      }
      expect(error, JSON.stringify(bad)).toMatchObject({ code: 'CONFIG_INVALID' })
      expect(exposed(error)).not.toContain(PASSWORD)
    }
    expect(() => postgres(URL_NO_APP, 'x' as never)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
  })

  it('maps types: int8 and numeric as strings, json parsed, bytea as Buffer, timestamptz as Date', async () => {
    const registry = registryFor()
    const { rows, columns, rowCount } = await registry.database.query<Record<string, unknown>>(
      `select 9007199254740993::int8 as big, 1.50::numeric as num, '{"a":[1,2]}'::json as j,
        '{"b":true}'::jsonb as jb, $1::bytea as bin, '\\xdeadbeef'::bytea as bin2,
        '2024-01-02T03:04:05.678Z'::timestamptz as ts, $2::timestamptz as ts2,
        array[1,2,null]::int[] as arr, null::text as nothing, true as flag, $3::int8 as pbig, $4::jsonb as pjson,
        42::int4 as small`,
      [Buffer.from([1, 2, 255]), new Date('2020-05-06T07:08:09.010Z'), '9007199254740995', { k: ['v'] }],
    )
    expect(columns).toEqual([
      ...['big', 'num', 'j', 'jb', 'bin', 'bin2', 'ts', 'ts2', 'arr', 'nothing', 'flag', 'pbig', 'pjson', 'small'],
    ])
    expect(rowCount).toBe(1)
    const row = rows[0]!
    expect(row).toMatchObject({
      big: '9007199254740993',
      num: '1.50',
      j: { a: [1, 2] },
      jb: { b: true },
      arr: [1, 2, null],
      nothing: null,
      flag: true,
      pbig: '9007199254740995',
      pjson: { k: ['v'] },
      small: 42,
    })
    expect(Buffer.from(row.bin as Uint8Array).toString('hex')).toBe('0102ff')
    expect(Buffer.from(row.bin2 as Uint8Array).toString('hex')).toBe('deadbeef')
    expect((row.ts as Date).toISOString()).toBe('2024-01-02T03:04:05.678Z')
    expect((row.ts2 as Date).toISOString()).toBe('2020-05-06T07:08:09.010Z')
    // The option `types` is postgres.js's own: int8 as bigint when asked.
    const bigints = registryFor({ types: { bigint: { to: 20, from: [20], parse: BigInt, serialize: String } } })
    expect((await bigints.database.query('select 9007199254740993::int8 as big')).rows).toEqual([
      { big: 9007199254740993n },
    ])
    await Promise.all([registry.disconnect(), bigints.disconnect()])
  })

  it('reports rowCount of writes and reads, runs several statements without params, refuses named params', async () => {
    const table = `lazydb_rc_${suffix}`
    const registry = registryFor()
    const db = registry.database
    await db.query(`drop table if exists ${table}`)
    await db.query(`create table ${table} (v int)`)
    try {
      expect((await db.query(`insert into ${table} values (1), (2), (3)`)).rowCount).toBe(3)
      expect((await db.query(`update ${table} set v = v + 1 where v > $1`, [1])).rowCount).toBe(2)
      expect(await db.query(`select * from ${table} order by v`)).toEqual({
        rows: [{ v: 1 }, { v: 3 }, { v: 4 }],
        rowCount: 3,
        columns: ['v'],
      })
      expect((await db.query(`select 1 as a; select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 3 }])
      const named = await db.query('select :a', { a: 1 }).catch((e: unknown) => e)
      expect(named).toMatchObject({ code: 'INVALID_ARGUMENT' })
      expect((named as Error).message).toMatch(/positional/)
    } finally {
      await db.query(`drop table if exists ${table}`)
      await registry.disconnect()
    }
  })

  it('binds a schema to its own transaction: with max 1 the next statement sees the default path', async () => {
    const schema = `lazydb_s_${suffix}`
    const table = `lazydb_same_${suffix}`
    await pgAdmin(`drop schema if exists ${schema} cascade; drop table if exists public.${table};
      create schema ${schema}; create table ${schema}.${table} (v text);
      insert into ${schema}.${table} values ('schema');
      create table public.${table} (v text); insert into public.${table} values ('public')`)
    const registry = registryFor({ max: 1 })
    try {
      const plain = registry.database
      const scoped = registry.using(undefined, { schema })
      const path = async () => (await plain.query<{ search_path: string }>('show search_path')).rows[0]!.search_path
      expect((await scoped.query(`select v from ${table}`)).rows).toEqual([{ v: 'schema' }])
      expect(await path()).toBe('"$user", public')
      expect((await scoped.query(`select v from ${table} where v = $1`, ['schema'])).rows).toEqual([{ v: 'schema' }])
      expect((await plain.query(`select v from ${table}`)).rows).toEqual([{ v: 'public' }])
      const [, count] = await scoped.batch([
        { text: `insert into ${table} values ($1)`, params: ['batched'] },
        { text: `select count(*)::int as n from ${table}` },
      ])
      expect(count!.rows).toEqual([{ n: 2 }])
      expect(await path()).toBe('"$user", public')
      const inside = await scoped.transaction(async (tx) => {
        await tx.query(`insert into ${table} values ($1)`, ['tx'])
        return (
          await tx.query<{ s: string; n: number }>(
            `select current_schema() as s, (select count(*)::int from ${table}) as n`,
          )
        ).rows[0]
      })
      expect(inside).toEqual({ s: schema, n: 3 })
      expect(await path()).toBe('"$user", public')
      expect((await scoped.query(`select 1 as a; select v from ${table} order by v limit 1`)).rows).toEqual([
        { v: 'batched' },
      ])
      const failing = await scoped.query('select * from lazydb_no_such_table').catch((e: unknown) => e)
      expect(failing).toMatchObject({ code: 'QUERY_FAILED', sqlState: '42P01' })
      expect(await path()).toBe('"$user", public')
      expect((await plain.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 1 }])
    } finally {
      await registry.disconnect()
      await pgAdmin(`drop schema if exists ${schema} cascade; drop table if exists public.${table}`)
    }
  })

  it('runs transactions at each isolation level, read-only, and reports a COMMIT that rolled back', async () => {
    const table = `lazydb_tx_${suffix}`
    const registry = registryFor()
    const db = registry.database
    await db.query(`drop table if exists ${table}`)
    await db.query(`create table ${table} (v int)`)
    try {
      for (const isolationLevel of ['read uncommitted', 'read committed', 'repeatable read', 'serializable'] as const) {
        const shown = await db.transaction(async (tx) => (await tx.query('show transaction_isolation')).rows[0], {
          isolationLevel,
        })
        expect(shown).toEqual({ transaction_isolation: isolationLevel })
      }
      const deferrable = await db.transaction(async (tx) => (await tx.query('show transaction_deferrable')).rows[0], {
        isolationLevel: 'serializable',
        readOnly: true,
        deferrable: true,
      })
      expect(deferrable).toEqual({ transaction_deferrable: 'on' })
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
      await registry.disconnect()
    }
  })

  it('surfaces server errors with SQLSTATE, constraint and detail, the password nowhere', async () => {
    const table = `lazydb_err_${suffix}`
    const registry = registryFor()
    const db = registry.database
    await db.query(`drop table if exists ${table}`)
    await db.query(`create table ${table} (id int primary key, note text constraint ${table}_note_key unique)`)
    try {
      await db.query(`insert into ${table} values ($1, $2)`, [1, 'dup'])
      const error = (await db
        .query(`insert into ${table} values ($1, $2)`, [2, 'dup'])
        .catch((e: unknown) => e)) as LazyDbError
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error).toMatchObject({
        code: 'QUERY_FAILED',
        database: 'default',
        sqlState: '23505',
        constraint: `${table}_note_key`,
        mayHaveRun: true,
      })
      expect(error.detail).toMatch(/already exists/)
      expect(error.cause).toMatchObject({ name: 'PostgresError', code: '23505' })
      expect(error.message).toContain('(postgres)')
      expect(exposed(error)).not.toContain(PASSWORD)
      const batch = (await db
        .batch([{ text: `insert into ${table} values (3, 'x')` }, { text: `insert into ${table} values (4, 'dup')` }])
        .catch((e: unknown) => e)) as LazyDbError
      expect(batch).toMatchObject({ code: 'QUERY_FAILED', sqlState: '23505' })
      expect((await db.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 1 }])
      for (const value of [registry, db, registry.using(undefined, { schema: 'public' }), registry.stats()]) {
        expect(inspect(value, { depth: 8, showHidden: true, getters: true })).not.toContain(PASSWORD)
        expect(JSON.stringify(value) ?? '').not.toContain(PASSWORD)
      }
      expect(db.url).not.toContain(PASSWORD)
    } finally {
      await db.query(`drop table if exists ${table}`)
      await registry.disconnect()
    }
  })

  it('hands out the postgres.js sql as client(), typed as Sql', async () => {
    const registry = registryFor()
    const db = registry.database
    expectTypeOf(db).toEqualTypeOf<Database<Sql>>()
    const sql = await db.client()
    expectTypeOf(sql).toEqualTypeOf<Sql>()
    const [row] = await sql`select ${'v'}::text as v`
    expect(row).toEqual({ v: 'v' })
    await registry.disconnect()
  })

  it.each([
    ['the pool', {}],
    ['max 1', { max: 1 }],
  ])('rolls back and reports a manual BEGIN sent through query() (%s)', async (_, options) => {
    const table = `lazydb_manual_${suffix}_${Object.keys(options).length}`
    const registry = registryFor(options)
    const db = registry.database
    await db.query(`drop table if exists ${table}`)
    await db.query(`create table ${table} (v int)`)
    try {
      // A comment between the two words (an outside review found it let through with max 1).
      const openers = ['begin', `begin; insert into ${table} values (1)`, `select 1; start transaction`]
      for (const text of [...openers, 'start/**/transaction', 'start -- now\ntransaction']) {
        const error = (await db.query(text).catch((e: unknown) => e)) as LazyDbError
        expect(error, text).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED', mayHaveRun: true })
        expect(error.message).toMatch(/rolled it back/)
        // Nothing of it was kept, and no connection stays in a transaction: postgres.js queues its ROLLBACK
        // ahead of anything else on that connection, so the server may show it idle in transaction for a
        // moment after the refusal, never longer.
        expect((await db.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 0 }])
        const openOnServer = async () =>
          (
            await db.query<{ open: boolean }>(
              `select exists(select 1 from pg_stat_activity
                where application_name = $1 and state like 'idle in%') as open`,
              [APP],
            )
          ).rows[0]!.open
        expect(await poll(async () => !(await openOnServer()), 2000)).toBe(true)
      }
      const batch = await db.batch([{ text: 'select 1' }, { text: 'begin' }]).catch((e: unknown) => e)
      expect(batch).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED' })
      // A block whose body says BEGIN opens no transaction: checked, and let through.
      await db.query(`do $$ begin perform 1; end $$`)
      // A text that opens and closes its own transaction runs as it is.
      await db.query(`begin; insert into ${table} values (2); commit`)
      expect((await db.query(`select count(*)::int as n from ${table}`)).rows).toEqual([{ n: 1 }])
    } finally {
      await db.query(`drop table if exists ${table}`)
      await registry.disconnect()
    }
  })

  it('settles statements and transactions queued for a connection when disconnected by force', async () => {
    const registry = registryFor({ max: 1 })
    const db = registry.database
    // The only connection is reserved through client(); what comes next waits for it.
    const sql = await db.client()
    const holder = await sql.reserve()
    const queued = [
      db.query('select 1').catch((e: unknown) => e),
      db.query('select $1::int as x', [2]).catch((e: unknown) => e),
      db.transaction(async (tx) => tx.query('select 3')).catch((e: unknown) => e),
    ]
    // An ORM's statement on the same sql waits too: the driver's own, it must settle as well.
    const raw = sql`select 4`.then(
      () => 'ran',
      (e: { code?: string }) => e.code,
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(sql.stats.waiting).toBe(4)
    await within(registry.disconnect({ force: true }), 5000, 'disconnect')
    expect(await within(raw, 5000, 'the raw statement')).toBe('CONNECTION_DESTROYED')
    const outcomes = await within(Promise.all(queued), 5000, 'queued work')
    // Each waited for a connection that never came: none of them ran.
    for (const outcome of outcomes) expect(outcome).toMatchObject({ code: 'CLOSED', mayHaveRun: false })
    holder.release()
    expect(await waitForConnectionCount(0, APP)).toBe(0)
  })

  it('recovers transparently when the server terminates its idle connection', async () => {
    const app = `${APP}-term`
    const registry = registryFor({}, urlFor(app))
    const db = registry.database
    const pid = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
    await pgAdmin(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = '${app}'`)
    expect(await waitForConnectionCount(0, app)).toBe(0)
    const after = await within(db.query<{ pid: number }>('select pg_backend_pid() as pid'), 5000, 'next query')
    expect(after.rows[0]!.pid).not.toBe(pid)
    await registry.disconnect()
  })

  it('retries a statement sent to a connection the server had ended while the process was not reading', async () => {
    const app = `${APP}-frozen`
    const registry = registryFor({ max: 1 }, urlFor(app))
    const db = registry.database
    const pid = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
    // Blocks the event loop (as a frozen Lambda would be) while the server ends the connection: its
    // close waits unread when the next statement is issued.
    execFileSync('psql', [
      ...['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-Atq', '-c'],
      `select pg_terminate_backend(${pid}); select pg_sleep(0.2)`,
    ])
    const after = await within(db.query<{ pid: number }>('select pg_backend_pid() as pid'), 5000, 'next query')
    expect(after.rows[0]!.pid).not.toBe(pid)
    await registry.disconnect()
  })

  it('fails a cold start against an unreachable server with CONNECT_FAILED naming host:port', async () => {
    const port = await closedPort()
    const registry = new Registry({
      database: postgres(pgUrlFor(`127.0.0.1:${port}`, { password: PASSWORD })),
      warn: false,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5, totalMs: 300 },
    })
    registries.push(registry)
    const error = (await within(
      registry.database.query('select 1').catch((e: unknown) => e),
      5000,
      'the connect',
    )) as LazyDbError
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' })
    expect(error.message).toContain(`127.0.0.1:${port}`)
    expect(exposed(error)).not.toContain(PASSWORD)
    expect(registry.stats().databases.default!.retries).toBe(1)
  })

  it('cuts a transaction whose statement still runs when disconnected by force, and leaves no connection', async () => {
    const app = `${APP}-cut`
    const registry = registryFor({}, urlFor(app))
    const db = registry.database
    let started!: () => void
    const running = new Promise<void>((resolve) => (started = resolve))
    const cut = db
      .transaction(async (tx) => {
        await tx.query('select 1')
        started()
        await tx.query('select pg_sleep(10)')
      })
      .catch((e: unknown) => e)
    await running
    await new Promise((resolve) => setTimeout(resolve, 50))
    await within(registry.disconnect({ force: true }), 3000, 'forced disconnect')
    expect(await within(cut, 3000, 'the cut transaction')).toMatchObject({ code: 'CLOSED' })
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it('reports TIMEOUT when a transaction fn uses db while it holds the only connection (queue_timeout)', async () => {
    const registry = registryFor({ max: 1, queue_timeout: 0.2 })
    const db = registry.database
    const error = await within(
      db.transaction(async () => db.query('select 1')).catch((e: unknown) => e),
      5000,
      'the queued statement',
    )
    expect(error).toMatchObject({ code: 'TIMEOUT', mayHaveRun: false })
    expect((error as Error).message).toMatch(/uses db instead of tx/)
    expect((await db.query('select 2 as x')).rows).toEqual([{ x: 2 }])
    await registry.disconnect()
  })

  it('fails a cold start as an unknown role with CONNECT_FAILED, SQLSTATE 28000, not retried', async () => {
    const registry = new Registry({
      database: postgres(`postgres://lazydb_no_such_role_${PID}:${PASSWORD}@127.0.0.1:5432/test`),
      warn: false,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5, totalMs: 300 },
    })
    registries.push(registry)
    const error = await within(
      registry.database.query('select 1').catch((e: unknown) => e),
      5000,
      'connect',
    )
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', sqlState: '28000' })
    expect(exposed(error)).not.toContain(PASSWORD)
    expect(registry.stats().databases.default!.retries).toBe(0)
  })

  it('fails a cold start against a server that never answers with CONNECT_FAILED within a deadline', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    const registry = new Registry({
      database: postgres(pgUrlFor(`127.0.0.1:${port}`, { password: PASSWORD }), { connect_timeout: 0.5 }),
      warn: false,
      retry: { attempts: 1 },
    })
    registries.push(registry)
    try {
      const error = await within(
        registry.database.query('select 1').catch((e: unknown) => e),
        5000,
        'connect',
      )
      expect(error).toMatchObject({ code: 'CONNECT_FAILED' })
      expect((error as Error).message).toContain(`127.0.0.1:${port}`)
      expect(exposed(error)).not.toContain(PASSWORD)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  it('leaves no server connection after disconnect()', async () => {
    const app = `${APP}-dc`
    const registry = registryFor({}, urlFor(app))
    const db = registry.database
    await Promise.all([db.query('select pg_sleep(0.05)'), db.query('select pg_sleep(0.05)')])
    await db.transaction(async (tx) => {
      await tx.query('select 1')
    })
    expect(await pgConnectionCount(app)).toBeGreaterThanOrEqual(2)
    await registry.disconnect()
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })
})
