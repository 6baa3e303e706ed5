// Drizzle (drizzle-orm/planetscale-serverless) as a user of lazydb: `drizzle(await registry.database.client())`
// inside handler() gets lazydb's @planetscale/database Client, typed from `planetscale(url)` with no cast,
// through the local PlanetScale gateway to MariaDB (as a MariaDB user of this suite's own). Pins down:
// create, insert, select, update; a Drizzle transaction that commits (invisible outside until then) and one
// that rolls back, checked through an independent mysql2 connection; 20 warm invocations on one Client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { count, eq, sql } from 'drizzle-orm'
import { int, mysqlTable, serial, varchar } from 'drizzle-orm/mysql-core'
import { drizzle } from 'drizzle-orm/planetscale-serverless'
import { handler, Registry } from '@lazydb/core'
import { planetscale } from '@lazydb/core/planetscale'
import { requireMariadb } from '../support/mariadb.js'
import {
  connects,
  figures,
  mysqlReader,
  rejection,
  STEP_MS,
  startPlanetscale,
  unique,
  warmRun,
  within,
} from './support.js'
import type { Reader } from './support.js'

const mariadbUp = await requireMariadb()
const TABLE = unique('orm_drizzle_ps')
const notes = mysqlTable(TABLE, {
  id: serial('id').primaryKey(),
  body: varchar('body', { length: 100 }).notNull().unique(),
  n: int('n').notNull().default(0),
})

const gateway = mariadbUp ? await startPlanetscale('lazydb_orm') : undefined
const registry = new Registry({ database: planetscale(gateway?.url() ?? 'http://unused@127.0.0.1:9'), warn: false })
let reader: Reader
beforeAll(async () => {
  if (mariadbUp) reader = await mysqlReader()
})
afterAll(async () => {
  await within(registry.disconnect(), STEP_MS, 'disconnect')
  if (mariadbUp) {
    await reader.drop(TABLE)
    await reader.close()
  }
  if (gateway !== undefined) await within(gateway.close(), STEP_MS, 'gateway close')
})

const createTable = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  await db.execute(
    sql.raw(
      `create table ${TABLE} (id serial primary key, body varchar(100) not null unique, n int not null default 0)`,
    ),
  )
})

const listNotes = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  return db.select().from(notes).orderBy(notes.id)
})

const setN = handler(registry, async (body: string, n: number) => {
  const db = drizzle(await registry.database.client())
  const result = await db.update(notes).set({ n }).where(eq(notes.body, body))
  return result.rowsAffected
})

const addNotes = handler(registry, async (bodies: string[]) => {
  const db = drizzle(await registry.database.client())
  return db.transaction(async (tx) => {
    const ids = []
    for (const body of bodies) ids.push(...(await tx.insert(notes).values({ body }).$returningId()))
    return ids
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

describe.skipIf(!mariadbUp)('Drizzle on PlanetScale (drizzle-orm/planetscale-serverless)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await within(createTable(), STEP_MS, 'create table')
    const added = await within(addNotes(['a', 'b']), STEP_MS, 'insert')
    expect(await within(listNotes(), STEP_MS, 'select')).toEqual([
      { id: added[0]!.id, body: 'a', n: 0 },
      { id: added[1]!.id, body: 'b', n: 0 },
    ])
    expect(await within(setN('b', 7), STEP_MS, 'update')).toBe(1)
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b'])
    expect(await reader.n(TABLE, 'b')).toBe(7)
  })

  it('commits a Drizzle transaction, and rolls back one that fails, as an independent mysql2 client sees', async () => {
    await within(addNotes(['c1', 'c2']), STEP_MS, 'committing transaction')
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])
    expect(await rejection(addNotes(['r1', 'a']))).toMatch(/Duplicate entry 'a'/)
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])

    const outside = () => reader.bodies(TABLE)
    expect(await within(openTransaction('t1', outside), STEP_MS, 'looking outside')).not.toContain('t1')
    expect(await reader.bodies(TABLE)).toContain('t1')
    const reason = new Error('changed my mind')
    await expect(within(openTransaction('t2', outside, reason), STEP_MS, 'rolled back')).rejects.toBe(reason)
    expect(await reader.bodies(TABLE)).not.toContain('t2')
  })

  it('serves 20 warm invocations from the one client it connected', async () => {
    gateway!.resetCounters()
    const { clients, ms } = await warmRun(20, async () => {
      const { count, client } = await countNotes()
      expect(count).toBe(5)
      return client
    })
    expect(clients.size).toBe(1)
    expect(connects(registry)).toBe(1)
    expect(registry.stats().invocations.cold).toBe(1)
    expect(gateway!.roundTrips).toBe(20)
    expect(gateway!.pinnedSessions()).toBe(0)
    figures('drizzle planetscale', { warm20Ms: ms, connects: connects(registry), roundTrips: gateway!.roundTrips })
  })
})
