// Drizzle (drizzle-orm/neon-http) as a user of lazydb: `drizzle(await registry.database.client())` inside
// handler() gets the neon() query function, typed from `neon(url)` with no cast, through the local Neon
// HTTP gateway. Pins down: create, insert, select, update; Drizzle's `db.batch` (neon-http has no
// interactive transaction: `db.transaction` throws) committing and rolling back; an interactive
// transaction through lazydb's `transaction()` with Drizzle building the SQL; all checked through an
// independent pg client; 20 warm invocations on the one client lazydb created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { count, eq, sql } from 'drizzle-orm'
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core'
import { drizzle } from 'drizzle-orm/neon-http'
import { handler, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { requirePostgres } from '../support/postgres.js'
import { connects, figures, pgReader, rejection, STEP_MS, startNeon, unique, warmRun, within } from './support.js'
import type { Reader } from './support.js'

const pgUp = await requirePostgres()
const TABLE = unique('orm_drizzle_neon_http')
const notes = pgTable(TABLE, {
  id: serial('id').primaryKey(),
  body: text('body').notNull().unique(),
  n: integer('n').notNull().default(0),
})

const backend = await startNeon()
const registry = new Registry({ database: neon(backend.url(unique('orm-drizzle-http')), backend.http), warn: false })
let reader: Reader
beforeAll(async () => {
  if (pgUp) reader = await pgReader()
})
afterAll(async () => {
  await within(registry.disconnect(), STEP_MS, 'disconnect')
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
  const [first, ...rest] = bodies.map((body) => db.insert(notes).values({ body }).returning())
  return (await db.batch([first!, ...rest])).flat()
})

const addNote = handler(registry, async (body: string) => {
  const db = drizzle(await registry.database.client())
  await registry.database.transaction(async (tx) => {
    const insert = db.insert(notes).values({ body }).toSQL()
    await tx.query(insert.sql, insert.params)
  })
})

/** The same, looking from outside before it decides, then throwing `reason` (or committing). */
const openTransaction = handler(registry, async (body: string, outside: () => Promise<string[]>, reason?: Error) => {
  const db = drizzle(await registry.database.client())
  return registry.database.transaction(async (tx) => {
    const insert = db.insert(notes).values({ body }).toSQL()
    await tx.query(insert.sql, insert.params)
    const seenOutside = await outside()
    if (reason !== undefined) throw reason
    return seenOutside
  })
})

const drizzleTransaction = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  return db.transaction(async (tx) => tx.select().from(notes))
})

const countNotes = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  const [row] = await db.select({ count: count() }).from(notes)
  return { count: row?.count, client: db.$client }
})

describe.skipIf(!pgUp)('Drizzle on Neon over HTTP (drizzle-orm/neon-http)', () => {
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

  it('commits a Drizzle batch, and rolls back one that fails, as an independent pg client sees', async () => {
    expect((await within(addNotes(['c1', 'c2']), STEP_MS, 'committing batch')).map((row) => row.body)).toEqual([
      'c1',
      'c2',
    ])
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])
    // 'a' exists: the unique violation fails the batch, and Neon rolls back the insert before it.
    expect(await rejection(addNotes(['r1', 'a']))).toMatch(/duplicate key value violates unique constraint/)
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])
  })

  it('has no Drizzle interactive transaction; lazydb transaction() runs Drizzle-built SQL in one', async () => {
    expect(await rejection(drizzleTransaction())).toMatch(/No transactions support in neon-http driver/)

    const outside = () => reader.bodies(TABLE)
    await within(addNote('t0'), STEP_MS, 'committing transaction')
    expect(await reader.bodies(TABLE)).toContain('t0')
    expect(await within(openTransaction('t1', outside), STEP_MS, 'looking outside')).not.toContain('t1')
    expect(await reader.bodies(TABLE)).toContain('t1')
    const reason = new Error('changed my mind')
    await expect(within(openTransaction('t2', outside, reason), STEP_MS, 'rolled back')).rejects.toBe(reason)
    expect(await reader.bodies(TABLE)).not.toContain('t2')
  })

  it('serves 20 warm invocations from the one client it connected', async () => {
    const { clients, ms } = await warmRun(20, async () => {
      const { count, client } = await countNotes()
      expect(count).toBe(6)
      return client
    })
    expect(clients.size).toBe(1)
    expect(connects(registry)).toBe(1)
    expect(registry.stats().invocations.cold).toBe(1)
    figures('drizzle neon-http', { warm20Ms: ms, connects: connects(registry) })
  })
})
