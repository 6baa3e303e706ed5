// Drizzle (drizzle-orm/libsql) as a user of lazydb: `drizzle(await registry.database.client())` inside
// handler(), typed from `libsql(url)` with no cast, on an embedded SQLite file. Pins down: create, insert,
// select, update; a Drizzle transaction that commits and one that rolls back, each seen (or not) by a
// second libSQL client; 20 warm invocations on the one client lazydb created.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Drizzle handlers.
import { describe, expect, it } from 'vitest'
import { count, eq, sql } from 'drizzle-orm'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { drizzle } from 'drizzle-orm/libsql'
import { handler, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { connects, type Decide, figures, libsqlFile, noteScenario, STEP_MS, unique, within } from './support.js'

const file = libsqlFile()
const TABLE = unique('orm_drizzle_libsql')

const registry = new Registry({ database: libsql(file.url), warn: false })
const scenario = noteScenario(registry, TABLE, file.reader, { close: file.remove })
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

/** A Drizzle transaction that inserts `body`, then lets `decide` look from outside and commit or throw. */
const openTransaction = handler(registry, async (body: string, decide: Decide) => {
  const db = drizzle(await registry.database.client())
  return db.transaction(async (tx) => {
    await tx.insert(notes).values({ body })
    return decide()
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

describe('Drizzle on libSQL (drizzle-orm/libsql)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    const crud = { createTable, insert: addNotes, select: listNotes, update: setN }
    const added = await scenario.crud(crud, 'row')
    expect(added.map((row) => row.body)).toEqual(['a', 'b'])
    expect(await within(listBodies(), STEP_MS, 'drizzle({ client })')).toEqual(['a', 'b'])
  })

  it('commits a Drizzle transaction, and rolls back one that fails, as a second client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /UNIQUE constraint failed/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from the one client it connected', async () => {
    const before = registry.stats().invocations.total
    const { ms } = await scenario.warm(5, countNotes)
    expect(registry.stats().invocations).toEqual({ total: before + 20, cold: 1 })
    expect(registry.database.isConnected).toBe(true)
    figures('drizzle libsql', { warm20Ms: ms, connects: connects(registry) })
  })
})
