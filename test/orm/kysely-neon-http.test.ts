// Kysely on Neon over HTTP as a user of lazydb. kysely-neon 2.0 (the last for kysely 0.28 and Node 20)
// takes the neon() query function: `new NeonDialect({ neon: await registry.database.client() })`, typed from
// `neon(url)` with no cast. It has no transactions ("NeonDialect doesn't support interactive transactions"),
// so Kysely transactions go through the suite's LazyDbDialect, which runs them in lazydb's transaction()
// (a WebSocket session). Pins down, through the local Neon gateways: create, insert, select, update; a
// transaction that commits (invisible outside until then) and one that rolls back, checked through an
// independent pg client; 20 warm invocations on the one client lazydb created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ColumnType, type Generated, Kysely } from 'kysely'
import { NeonDialect } from 'kysely-neon'
import { handler, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { requirePostgres } from '../support/postgres.js'
import { LazyDbDialect } from './kysely-lazydb-dialect.js'
import { connects, figures, pgReader, rejection, STEP_MS, startNeon, unique, warmRun, within } from './support.js'
import type { Reader } from './support.js'

const pgUp = await requirePostgres()
const TABLE = `orm_kysely_neon_http_${process.pid}` as const
type Tables = Record<typeof TABLE, { id: Generated<number>; body: string; n: ColumnType<number, number | undefined> }>

const backend = await startNeon()
const registry = new Registry({ database: neon(backend.url(unique('orm-kysely-http')), backend.http), warn: false })
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
  const db = new Kysely<Tables>({ dialect: new NeonDialect({ neon: await registry.database.client() }) })
  await db.schema
    .createTable(TABLE)
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('body', 'text', (col) => col.notNull().unique())
    .addColumn('n', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
})

const listNotes = handler(registry, async () => {
  const db = new Kysely<Tables>({ dialect: new NeonDialect({ neon: await registry.database.client() }) })
  return db.selectFrom(TABLE).selectAll().orderBy('id').execute()
})

const setN = handler(registry, async (body: string, n: number) => {
  const db = new Kysely<Tables>({ dialect: new NeonDialect({ neon: await registry.database.client() }) })
  return db.updateTable(TABLE).set({ n }).where('body', '=', body).returningAll().execute()
})

const insertNotes = handler(registry, async (bodies: string[]) => {
  const db = new Kysely<Tables>({ dialect: new NeonDialect({ neon: await registry.database.client() }) })
  return db
    .insertInto(TABLE)
    .values(bodies.map((body) => ({ body })))
    .returningAll()
    .execute()
})

const neonDialectTransaction = handler(registry, async () => {
  const db = new Kysely<Tables>({ dialect: new NeonDialect({ neon: await registry.database.client() }) })
  return db.transaction().execute(async (trx) => trx.selectFrom(TABLE).selectAll().execute())
})

const transactional = new Kysely<Tables>({ dialect: new LazyDbDialect(registry.database) })

const addNotes = handler(registry, async (bodies: string[]) => {
  return transactional.transaction().execute(async (trx) => {
    const added = []
    for (const body of bodies)
      added.push(await trx.insertInto(TABLE).values({ body }).returningAll().executeTakeFirstOrThrow())
    return added
  })
})

/** A transaction that looks from outside before it decides, then throws `reason` (or commits). */
const openTransaction = handler(registry, async (body: string, outside: () => Promise<string[]>, reason?: Error) => {
  return transactional.transaction().execute(async (trx) => {
    await trx.insertInto(TABLE).values({ body }).execute()
    const seenOutside = await outside()
    if (reason !== undefined) throw reason
    return seenOutside
  })
})

const countNotes = handler(registry, async () => {
  const client = await registry.database.client()
  const db = new Kysely<Tables>({ dialect: new NeonDialect({ neon: client }) })
  const row = await db
    .selectFrom(TABLE)
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow()
  return { count: Number(row.count), client }
})

describe.skipIf(!pgUp)('Kysely on Neon over HTTP (kysely-neon; transactions through LazyDbDialect)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await within(createTable(), STEP_MS, 'create table')
    const added = await within(insertNotes(['a', 'b']), STEP_MS, 'insert')
    expect(await within(listNotes(), STEP_MS, 'select')).toEqual([
      { id: added[0]!.id, body: 'a', n: 0 },
      { id: added[1]!.id, body: 'b', n: 0 },
    ])
    expect(await within(setN('b', 7), STEP_MS, 'update')).toEqual([{ id: added[1]!.id, body: 'b', n: 7 }])
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b'])
    expect(await reader.n(TABLE, 'b')).toBe(7)
  })

  it('commits a Kysely transaction, and rolls back one that fails, as an independent pg client sees', async () => {
    expect(await rejection(neonDialectTransaction())).toMatch(/doesn't support interactive transactions/)

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

  it('serves 20 warm invocations from the one client it connected', async () => {
    const { clients, ms } = await warmRun(20, async () => {
      const { count, client } = await countNotes()
      expect(count).toBe(5)
      return client
    })
    expect(clients.size).toBe(1)
    expect(connects(registry)).toBe(1)
    expect(registry.stats().invocations.cold).toBe(1)
    figures('kysely neon-http', { warm20Ms: ms, connects: connects(registry) })
  })
})
