// Drizzle (drizzle-orm/neon-serverless) as a user of lazydb: `drizzle(await registry.database.client())`
// inside handler() gets lazydb's Pool, typed from `neon(url, { transport: 'ws' })` with no cast, through
// the local Neon WebSocket gateway. Pins down: create, insert, select, update; a Drizzle transaction that
// commits (invisible outside until then) and one that rolls back, checked through an independent pg
// client; 20 warm invocations on one Pool and one server connection; `client()` as a hold (an idle timeout
// shorter than the invocation does not close the Pool under Drizzle); request scope: a Pool per
// invocation, its server connections gone (pg_stat_activity) once the invocation ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Pool } from '@neondatabase/serverless'
import { count, eq, sql } from 'drizzle-orm'
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core'
import { drizzle } from 'drizzle-orm/neon-serverless'
import { handler, Registry, type CloseEvent } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { poll } from '../support/poll.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { connects, figures, pgReader, rejection, STEP_MS, startNeon, unique, warmRun, within } from './support.js'

const pgUp = await requirePostgres()
const TABLE = unique('orm_drizzle_neon_ws')
const APP = unique('orm-drizzle-ws')
const REQUEST_APP = unique('orm-drizzle-ws-request')
const HOLD_APP = unique('orm-drizzle-ws-hold')
const notes = pgTable(TABLE, {
  id: serial('id').primaryKey(),
  body: text('body').notNull().unique(),
  n: integer('n').notNull().default(0),
})

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
  const db = drizzle(await registry.database.client())
  await db.execute(
    sql.raw(`create table ${TABLE} (id serial primary key, body text not null unique, n int not null default 0)`),
  )
})

const listNotes = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  return db.select().from(notes).orderBy(notes.id)
})

const setN = handler(registry, async (body: string, n: number) => {
  const db = drizzle(await registry.database.client())
  return db.update(notes).set({ n }).where(eq(notes.body, body)).returning()
})

const addNotes = handler(registry, async (bodies: string[]) => {
  const db = drizzle(await registry.database.client())
  return db.transaction(async (tx) => {
    const added = []
    for (const body of bodies) added.push(...(await tx.insert(notes).values({ body }).returning()))
    return added
  })
})

/** A transaction that looks from outside before it decides, then throws `reason` (or commits). */
const openTransaction = handler(registry, async (body: string, outside: () => Promise<string[]>, reason?: Error) => {
  const db = drizzle(await registry.database.client())
  return db.transaction(async (tx) => {
    await tx.insert(notes).values({ body })
    const seenOutside = await outside()
    if (reason !== undefined) throw reason
    return seenOutside
  })
})

const countNotes = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  const [row] = await db.select({ count: count() }).from(notes)
  return { count: row?.count, client: db.$client }
})

describe.skipIf(!pgUp)('Drizzle on Neon over WebSocket (drizzle-orm/neon-serverless, the Pool)', () => {
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

  it('commits a Drizzle transaction, and rolls back one that fails, as an independent pg client sees', async () => {
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

  it('serves 20 warm invocations from one Pool on one server connection, all gone after disconnect', async () => {
    const { clients, ms } = await warmRun(20, async () => {
      const { count, client } = await countNotes()
      expect(count).toBe(5)
      return client
    })
    expect(clients.size).toBe(1)
    expect(connects(registry)).toBe(1)
    expect(registry.stats().invocations.cold).toBe(1)
    const backends = await reader.backends(APP)
    expect(backends).toBe(1)
    await within(registry.disconnect(), STEP_MS, 'disconnect')
    expect(await within(waitForConnectionCount(0, APP), STEP_MS, 'backends to close')).toBe(0)
    expect(([...clients][0] as Pool).ended).toBe(true)
    figures('drizzle neon-ws warm', { warm20Ms: ms, connects: connects(registry), backendsWarm: backends })
  })

  it('keeps the Pool open under Drizzle for the whole invocation: client() is a hold', async () => {
    const closes: CloseEvent['reason'][] = []
    const held = new Registry({
      database: neon(backend.url(HOLD_APP), { transport: 'ws', idleTimeoutMs: 100, max: 1, ...backend.ws }),
      on: { close: (event) => void closes.push(event.reason) },
      warn: false,
    })
    const slowReport = handler(held, async () => {
      const db = drizzle(await held.database.client())
      const first = await db.select({ count: count() }).from(notes)
      await new Promise((resolve) => setTimeout(resolve, 400)) // 4× idleTimeoutMs with no statement
      const second = await db.select({ count: count() }).from(notes)
      return { first, second, closedMeanwhile: [...closes] }
    })
    try {
      const report = await within(slowReport(), STEP_MS, 'slow invocation')
      expect(report).toEqual({ first: [{ count: 5 }], second: [{ count: 5 }], closedMeanwhile: [] })
      // Released at the end: now the idle timeout applies, and the server connection goes.
      expect(await poll(async () => closes.includes('idle'), 2000)).toBe(true)
      expect(await within(waitForConnectionCount(0, HOLD_APP), STEP_MS, 'backends to close')).toBe(0)
    } finally {
      await within(held.disconnect({ force: true }), STEP_MS, 'disconnect')
    }
  })

  it('request scope: a Pool per invocation, closed with its server connections when it ends', async () => {
    const scoped = new Registry({
      database: neon(backend.url(REQUEST_APP), { transport: 'ws', scope: 'request', max: 2, ...backend.ws }),
      warn: false,
    })
    const report = handler(scoped, async () => {
      const db = drizzle(await scoped.database.client())
      const [row] = await db.select({ count: count() }).from(notes)
      return { count: row?.count, pool: db.$client, backendsDuring: await reader.backends(REQUEST_APP) }
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
      figures('drizzle neon-ws request scope', { invocations: 5, ms, during, after, connects: stats.connects })
    } finally {
      await within(scoped.disconnect({ force: true }), STEP_MS, 'disconnect')
    }
  })
})
