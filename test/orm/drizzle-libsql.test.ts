// Drizzle (drizzle-orm/libsql) as a user of lazydb: `drizzle(await registry.database.client())` inside
// handler(), typed from `libsql(url)` with no cast, on an embedded SQLite file. Pins down: create, insert,
// select, update; a Drizzle transaction that commits and one that rolls back, each seen (or not) by a
// second libSQL client; 20 warm invocations on the one client lazydb created.
import { afterAll, describe, expect, it } from 'vitest'
import { count, eq, sql } from 'drizzle-orm'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { drizzle } from 'drizzle-orm/libsql'
import { handler, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { connects, figures, libsqlFile, rejection, STEP_MS, unique, warmRun, within } from './support.js'

const file = libsqlFile()
const reader = file.reader()
const TABLE = unique('orm_drizzle_libsql')

const registry = new Registry({ database: libsql(file.url), warn: false })
const notes = sqliteTable(TABLE, {
  id: integer('id').primaryKey({ autoIncrement: true }),
  body: text('body').notNull().unique(),
  n: integer('n').notNull().default(0),
})

const createTable = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  await db.run(
    sql.raw(`create table ${TABLE} (id integer primary key, body text not null unique, n int not null default 0)`),
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

/** The config-object form Drizzle also takes. */
const listBodies = handler(registry, async () => {
  const db = drizzle({ client: await registry.database.client() })
  return (await db.select({ body: notes.body }).from(notes).orderBy(notes.id)).map((row) => row.body)
})

afterAll(async () => {
  await within(registry.disconnect(), STEP_MS, 'disconnect')
  await reader.close()
  file.remove()
})

describe('Drizzle on libSQL (drizzle-orm/libsql)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await within(createTable(), STEP_MS, 'create table')
    const added = await within(addNotes(['a', 'b']), STEP_MS, 'insert')
    expect(added.map((row) => row.body)).toEqual(['a', 'b'])
    expect(await within(listNotes(), STEP_MS, 'select')).toEqual([
      { id: added[0]!.id, body: 'a', n: 0 },
      { id: added[1]!.id, body: 'b', n: 0 },
    ])
    expect(await within(setN('b', 7), STEP_MS, 'update')).toEqual([{ id: added[1]!.id, body: 'b', n: 7 }])
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b'])
    expect(await reader.n(TABLE, 'b')).toBe(7)
    expect(await within(listBodies(), STEP_MS, 'drizzle({ client })')).toEqual(['a', 'b'])
  })

  it('commits a Drizzle transaction, and rolls back one that fails, as a second client sees', async () => {
    await within(addNotes(['c1', 'c2']), STEP_MS, 'committing transaction')
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])
    // 'a' exists: the unique violation fails the second insert, and Drizzle rolls back the first.
    expect(await rejection(addNotes(['r1', 'a']))).toMatch(/UNIQUE constraint failed/)
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])

    const outside = () => reader.bodies(TABLE)
    const seen = await within(openTransaction('t1', outside), STEP_MS, 'transaction looking outside')
    expect(seen).not.toContain('t1') // not visible before the commit…
    expect(await reader.bodies(TABLE)).toContain('t1') // …visible after it
    const reason = new Error('changed my mind')
    await expect(within(openTransaction('t2', outside, reason), STEP_MS, 'rolled back')).rejects.toBe(reason)
    expect(await reader.bodies(TABLE)).not.toContain('t2')
  })

  it('serves 20 warm invocations from the one client it connected', async () => {
    const before = registry.stats().invocations.total
    const { clients, ms } = await warmRun(20, async () => {
      const { count, client } = await countNotes()
      expect(count).toBe(5)
      return client
    })
    expect(clients.size).toBe(1)
    expect(connects(registry)).toBe(1)
    expect(registry.stats().invocations).toEqual({ total: before + 20, cold: 1 })
    expect(registry.database.isConnected).toBe(true)
    figures('drizzle libsql', { warm20Ms: ms, connects: connects(registry) })
  })
})
