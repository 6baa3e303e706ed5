// Kysely's own PostgresDialect over lazydb's Neon Pool: `new PostgresDialect({ pool: await
// registry.database.client() })` inside handler(), typed from `neon(url, { transport: 'ws' })` with no cast,
// through the local Neon WebSocket gateway. Pins down: create, insert, select, update; a Kysely transaction
// that commits (invisible outside until then) and one that rolls back, checked through an independent pg
// client; 20 warm invocations on one Pool and one server connection; request scope (a Pool per invocation,
// its server connections gone once it ends); `db.destroy()` ending lazydb's Pool (the next invocation gets a
// fresh one); why the Kysely is built per invocation (one kept across an idle close has an ended Pool); and
// the suite's LazyDbDialect at module scope on a request-scoped database (a Pool per invocation, closed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Pool } from '@neondatabase/serverless'
import { type ColumnType, type Generated, Kysely, PostgresDialect } from 'kysely'
import { handler, Registry, type CloseEvent } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { LazyDbDialect } from './kysely-lazydb-dialect.js'
import { poll } from '../support/poll.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { connects, figures, pgReader, rejection, STEP_MS, startNeon, unique, warmRun, within } from './support.js'

const pgUp = await requirePostgres()
const TABLE = `orm_kysely_neon_ws_${process.pid}` as const
type Tables = Record<typeof TABLE, { id: Generated<number>; body: string; n: ColumnType<number, number | undefined> }>
const APP = unique('orm-kysely-ws')
const REQUEST_APP = unique('orm-kysely-ws-request')
const IDLE_APP = unique('orm-kysely-ws-idle')
const LAZY_APP = unique('orm-kysely-ws-lazydb')

const backend = await startNeon()
const registry = new Registry({
  database: neon(backend.url(APP), { transport: 'ws', max: 2, ...backend.ws }),
  warn: false,
})
let reader: Awaited<ReturnType<typeof pgReader>>
beforeAll(async () => {
  if (pgUp) reader = await pgReader()
})
afterAll(async () => {
  await within(registry.disconnect({ force: true }), STEP_MS, 'disconnect')
  if (pgUp) {
    await reader.drop(TABLE)
    await reader.close()
  }
  await within(backend.close(), STEP_MS, 'gateways close')
})

const createTable = handler(registry, async () => {
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: await registry.database.client() }) })
  await db.schema
    .createTable(TABLE)
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('body', 'text', (col) => col.notNull().unique())
    .addColumn('n', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
})

const listNotes = handler(registry, async () => {
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: await registry.database.client() }) })
  return db.selectFrom(TABLE).selectAll().orderBy('id').execute()
})

const setN = handler(registry, async (body: string, n: number) => {
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: await registry.database.client() }) })
  return db.updateTable(TABLE).set({ n }).where('body', '=', body).returningAll().execute()
})

const addNotes = handler(registry, async (bodies: string[]) => {
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: await registry.database.client() }) })
  return db.transaction().execute(async (trx) => {
    const added = []
    for (const body of bodies)
      added.push(await trx.insertInto(TABLE).values({ body }).returningAll().executeTakeFirstOrThrow())
    return added
  })
})

/** A transaction that looks from outside before it decides, then throws `reason` (or commits). */
const openTransaction = handler(registry, async (body: string, outside: () => Promise<string[]>, reason?: Error) => {
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: await registry.database.client() }) })
  return db.transaction().execute(async (trx) => {
    await trx.insertInto(TABLE).values({ body }).execute()
    const seenOutside = await outside()
    if (reason !== undefined) throw reason
    return seenOutside
  })
})

const countNotes = handler(registry, async () => {
  const pool = await registry.database.client()
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) })
  const row = await db
    .selectFrom(TABLE)
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow()
  return { count: Number(row.count), pool }
})

describe.skipIf(!pgUp)("Kysely on Neon over WebSocket (Kysely's PostgresDialect over lazydb's Pool)", () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await within(createTable(), STEP_MS, 'create table')
    const added = await within(addNotes(['a', 'b']), STEP_MS, 'insert')
    expect(await within(listNotes(), STEP_MS, 'select')).toEqual([
      { id: added[0]!.id, body: 'a', n: 0 },
      { id: added[1]!.id, body: 'b', n: 0 },
    ])
    expect(await within(setN('b', 7), STEP_MS, 'update')).toEqual([{ id: added[1]!.id, body: 'b', n: 7 }])
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b'])
    expect(await reader.n(TABLE, 'b')).toBe(7)
  })

  it('commits a Kysely transaction, and rolls back one that fails, as an independent pg client sees', async () => {
    await within(addNotes(['c1', 'c2']), STEP_MS, 'committing transaction')
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])
    expect(await rejection(addNotes(['r1', 'a']))).toMatch(/duplicate key value violates unique constraint/)
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])

    const outside = () => reader.bodies(TABLE)
    expect(await within(openTransaction('t1', outside), STEP_MS, 'looking outside')).not.toContain('t1')
    expect(await reader.bodies(TABLE)).toContain('t1')
    const reason = new Error('changed my mind')
    await expect(within(openTransaction('t2', outside, reason), STEP_MS, 'rolled back')).rejects.toBe(reason)
    expect(await reader.bodies(TABLE)).not.toContain('t2')
  })

  it('serves 20 warm invocations from one Pool on one server connection', async () => {
    const { clients, ms } = await warmRun(20, async () => {
      const { count, pool } = await countNotes()
      expect(count).toBe(5)
      return pool
    })
    expect(clients.size).toBe(1)
    expect(connects(registry)).toBe(1)
    expect(registry.stats().invocations.cold).toBe(1)
    const backends = await reader.backends(APP)
    expect(backends).toBe(1)
    figures('kysely neon-ws warm', { warm20Ms: ms, connects: connects(registry), backendsWarm: backends })
  })

  it('db.destroy() ends lazydb’s Pool; the next invocation gets a fresh one', async () => {
    const destroyAfterUse = handler(registry, async () => {
      const pool = await registry.database.client()
      const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) })
      await db.selectFrom(TABLE).select('id').execute()
      await db.destroy()
      return pool
    })
    const ended = await within(destroyAfterUse(), STEP_MS, 'invocation calling destroy()')
    expect(ended.ended).toBe(true)
    const { count, pool } = await within(countNotes(), STEP_MS, 'next invocation')
    expect([count, pool === ended, pool.ended, connects(registry)]).toEqual([5, false, false, 2])
    expect(await within(waitForConnectionCount(1, APP), STEP_MS, 'one backend')).toBe(1)
  })

  it('a Kysely kept across invocations keeps an ended Pool after lazydb idle-closes it', async () => {
    const closes: CloseEvent['reason'][] = []
    const idle = new Registry({
      database: neon(backend.url(IDLE_APP), { transport: 'ws', idleTimeoutMs: 100, max: 1, ...backend.ws }),
      on: { close: (event) => void closes.push(event.reason) },
      warn: false,
    })
    let kept: Kysely<Tables> | undefined
    const countWith = handler(idle, async (perInvocation: boolean) => {
      const fresh = () => new Kysely<Tables>({ dialect: new PostgresDialect({ pool: () => idle.database.client() }) })
      const db = perInvocation ? fresh() : (kept ??= fresh())
      return (await db.selectFrom(TABLE).select('id').execute()).length
    })
    try {
      expect(await within(countWith(false), STEP_MS, 'first invocation')).toBe(5)
      expect(await poll(async () => closes.includes('idle'), 2000)).toBe(true)
      expect(await rejection(countWith(false))).toMatch(/Cannot use a pool after calling end/)
      expect(await within(countWith(true), STEP_MS, 'per-invocation Kysely')).toBe(5)
      expect(connects(idle)).toBe(2)
    } finally {
      await within(idle.disconnect({ force: true }), STEP_MS, 'disconnect')
    }
    expect(await within(waitForConnectionCount(0, IDLE_APP), STEP_MS, 'backends to close')).toBe(0)
  })

  it('request scope: a Pool per invocation, closed with its server connections when it ends', async () => {
    const scoped = new Registry({
      database: neon(backend.url(REQUEST_APP), { transport: 'ws', scope: 'request', max: 2, ...backend.ws }),
      warn: false,
    })
    const report = handler(scoped, async () => {
      const pool = await scoped.database.client()
      const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) })
      const rows = await db.selectFrom(TABLE).select('id').execute()
      return { count: rows.length, pool, backendsDuring: await reader.backends(REQUEST_APP) }
    })
    try {
      const pools = new Set<Pool>()
      const during: number[] = []
      const after: number[] = []
      const started = performance.now()
      for (let i = 0; i < 5; i++) {
        const { count, pool, backendsDuring } = await within(report(), STEP_MS, `request invocation ${i + 1}`)
        expect(count).toBe(5)
        pools.add(pool)
        during.push(backendsDuring)
        after.push(await within(waitForConnectionCount(0, REQUEST_APP), STEP_MS, 'backends to close'))
        expect(await poll(async () => pool.ended, 2000)).toBe(true)
      }
      const ms = Math.round(performance.now() - started)
      expect(pools.size).toBe(5)
      expect(during).toEqual([1, 1, 1, 1, 1])
      expect(after).toEqual([0, 0, 0, 0, 0])
      const stats = scoped.stats().databases.default!
      expect([stats.scope, stats.connects, stats.closes]).toEqual(['request', 5, 5])
      figures('kysely neon-ws request scope', { invocations: 5, ms, during, after, connects: stats.connects })
    } finally {
      await within(scoped.disconnect({ force: true }), STEP_MS, 'disconnect')
    }
  })

  it('LazyDbDialect on a request-scoped Pool: one Kysely for every invocation, each on a Pool of its own', async () => {
    const scoped = new Registry({
      database: neon(backend.url(LAZY_APP), { transport: 'ws', scope: 'request', max: 2, ...backend.ws }),
      warn: false,
    })
    const kysely = new Kysely<Tables>({ dialect: new LazyDbDialect(scoped.database) })
    const bump = handler(scoped, async (body: string) => {
      return kysely.transaction().execute(async (trx) => {
        await trx
          .updateTable(TABLE)
          .set((eb) => ({ n: eb('n', '+', 1) }))
          .where('body', '=', body)
          .execute()
        return (await trx.selectFrom(TABLE).select('n').where('body', '=', body).executeTakeFirstOrThrow()).n
      })
    })
    try {
      const seen: number[] = []
      for (let i = 0; i < 3; i++) {
        seen.push(await within(bump('b'), STEP_MS, `invocation ${i + 1}`))
        expect(await within(waitForConnectionCount(0, LAZY_APP), STEP_MS, 'backends to close')).toBe(0)
      }
      expect(seen).toEqual([8, 9, 10])
      expect(await reader.n(TABLE, 'b')).toBe(10)
      const stats = scoped.stats().databases.default!
      expect([stats.connects, stats.closes]).toEqual([3, 3])
    } finally {
      await within(scoped.disconnect({ force: true }), STEP_MS, 'disconnect')
    }
  })
})
