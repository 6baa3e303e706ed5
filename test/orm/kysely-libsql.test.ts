// Kysely (kysely-libsql's LibsqlDialect) as a user of lazydb: `new LibsqlDialect({ client: await
// registry.database.client() })` inside handler(), the Client typed from `libsql(url)` with no cast, on an
// embedded SQLite file. The dialect takes lazydb's client as it is (or a config, to build its own) and never
// closes a client it was given: `db.destroy()` leaves lazydb's open. Pins down: create, insert, select,
// update; a Kysely transaction that commits (invisible outside until then) and one that rolls back, each
// checked through a second libSQL client; the suite's LazyDbDialect on SQLite (statements counted by lazydb,
// its transactions committing and rolling back); 20 warm invocations on the one client lazydb created.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Kysely handlers.
import { describe, expect, it } from 'vitest'
import { Kysely } from 'kysely'
import { LibsqlDialect } from 'kysely-libsql'
import { handler, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { LazyDbDialect } from './kysely-lazydb-dialect.js'
import {
  connects,
  type Decide,
  figures,
  type KyselyNote,
  kyselyNotes,
  libsqlFile,
  noteScenario,
  STEP_MS,
  within,
} from './support.js'

const file = libsqlFile()
const TABLE = `orm_kysely_libsql_${process.pid}` as const
type Tables = Record<typeof TABLE, KyselyNote>

const registry = new Registry({ database: libsql(file.url), warn: false })
const scenario = noteScenario(registry, TABLE, file.reader, { close: file.remove })
const notes = kyselyNotes(TABLE)
/** kysely-libsql on lazydb's client, for this invocation. */
const kysely = async () =>
  new Kysely<Tables>({ dialect: new LibsqlDialect({ client: await registry.database.client() }) })

const createTable = handler(registry, async () => notes.createTable(await kysely(), 'sqlite'))
const listNotes = handler(registry, async () => notes.list(await kysely()))
const setN = handler(registry, async (body: string, n: number) => notes.setN(await kysely(), body, n))

const addNotes = handler(registry, async (bodies: string[]) => {
  const db = new Kysely<Tables>({ dialect: new LibsqlDialect({ client: await registry.database.client() }) })
  return db.transaction().execute(async (trx) => {
    const added = []
    for (const body of bodies)
      added.push(await trx.insertInto(TABLE).values({ body }).returningAll().executeTakeFirstOrThrow())
    return added
  })
})

/** A Kysely transaction that inserts `body`, then lets `decide` look from outside and commit or throw. */
const openTransaction = handler(registry, async (body: string, decide: Decide) =>
  notes.insertThenDecide(await kysely(), body, decide),
)

const countNotes = handler(registry, async () => {
  const client = await registry.database.client()
  const db = new Kysely<Tables>({ dialect: new LibsqlDialect({ client }) })
  const count = await notes.count(db)
  await db.destroy() // kysely-libsql closes only a client it built itself
  return { count, client }
})

const viaLazyDb = new Kysely<Tables>({ dialect: new LazyDbDialect(registry.database) })

const rename = handler(registry, async (from: string, to: string, reason?: Error) => {
  return viaLazyDb.transaction().execute(async (trx) => {
    await trx.updateTable(TABLE).set({ body: to }).where('body', '=', from).execute()
    if (reason !== undefined) throw reason
  })
})

describe('Kysely on libSQL (kysely-libsql)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.crud({ createTable, insert: addNotes, select: listNotes, update: setN }, 'row')
  })

  it('commits a Kysely transaction, and rolls back one that fails, as a second client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /UNIQUE constraint failed/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('runs LazyDbDialect too: lazydb counts its statements, its transactions commit or roll back', async () => {
    const queriesBefore = registry.stats().databases.default!.queries
    await within(rename('t1', 't1-renamed'), STEP_MS, 'committing rename')
    expect(registry.stats().databases.default!.queries - queriesBefore).toBe(1)
    const reason = new Error('changed my mind')
    await expect(within(rename('c1', 'c1-renamed', reason), STEP_MS, 'rolled back rename')).rejects.toBe(reason)
    expect(await scenario.bodies()).toEqual(['a', 'b', 'c1', 'c2', 't1-renamed'])
  })

  it('serves 20 warm invocations from the one client it connected, which db.destroy() leaves open', async () => {
    const { client, ms } = await scenario.warm(5, countNotes)
    expect(client.closed).toBe(false)
    figures('kysely libsql', { warm20Ms: ms, connects: connects(registry) })
  })
})
