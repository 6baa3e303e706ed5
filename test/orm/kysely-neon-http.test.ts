// Kysely on Neon over HTTP as a user of lazydb. kysely-neon 2.0 (the last for kysely 0.28 and Node 20)
// takes the neon() query function: `new NeonDialect({ neon: await registry.database.client() })`, typed from
// `neon(url)` with no cast. It has no transactions ("NeonDialect doesn't support interactive transactions"),
// so Kysely transactions go through the suite's LazyDbDialect, which runs them in lazydb's transaction()
// (a WebSocket session). Pins down, through the local Neon gateways: create, insert, select, update; a
// transaction that commits (invisible outside until then) and one that rolls back, checked through an
// independent pg client; 20 warm invocations on the one client lazydb created.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Kysely handlers.
import { describe, expect, it } from 'vitest'
import { Kysely } from 'kysely'
import { NeonDialect } from 'kysely-neon'
import { handler, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { requirePostgres } from '../support/postgres.js'
import { LazyDbDialect } from './kysely-lazydb-dialect.js'
import {
  connects,
  type Decide,
  figures,
  type KyselyNote,
  kyselyNotes,
  noteScenario,
  pgReader,
  rejection,
  startNeon,
  unique,
} from './support.js'

const pgUp = await requirePostgres()
const TABLE = `orm_kysely_neon_http_${process.pid}` as const
type Tables = Record<typeof TABLE, KyselyNote>

const backend = await startNeon()
const registry = new Registry({ database: neon(backend.url(unique('orm-kysely-http')), backend.http), warn: false })
const scenario = noteScenario(registry, TABLE, pgUp && pgReader, { close: backend.close })
const notes = kyselyNotes(TABLE)
/** kysely-neon on lazydb's query function, for this invocation. */
const kysely = async () => new Kysely<Tables>({ dialect: new NeonDialect({ neon: await registry.database.client() }) })

const createTable = handler(registry, async () => notes.createTable(await kysely(), 'postgres'))
const listNotes = handler(registry, async () => notes.list(await kysely()))
const setN = handler(registry, async (body: string, n: number) => notes.setN(await kysely(), body, n))

const insertNotes = handler(registry, async (bodies: string[]) => {
  const db = new Kysely<Tables>({ dialect: new NeonDialect({ neon: await registry.database.client() }) })
  return db
    .insertInto(TABLE)
    .values(bodies.map((body) => ({ body })))
    .returningAll()
    .execute()
})

const neonDialectTransaction = handler(registry, async () => {
  const db = await kysely()
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

/** A transaction through LazyDbDialect that inserts `body`, then lets `decide` look outside and commit or throw. */
const openTransaction = handler(registry, async (body: string, decide: Decide) =>
  notes.insertThenDecide(transactional, body, decide),
)

const countNotes = handler(registry, async () => {
  const client = await registry.database.client()
  const db = new Kysely<Tables>({ dialect: new NeonDialect({ neon: client }) })
  return { count: Number(await notes.count(db)), client }
})

describe.skipIf(!pgUp)('Kysely on Neon over HTTP (kysely-neon; transactions through LazyDbDialect)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.crud({ createTable, insert: insertNotes, select: listNotes, update: setN }, 'row')
  })

  it('commits a Kysely transaction, and rolls back one that fails, as an independent pg client sees', async () => {
    expect(await rejection(neonDialectTransaction())).toMatch(/doesn't support interactive transactions/)
    await scenario.commitsAndRollsBack(addNotes, /duplicate key value violates unique constraint/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from the one client it connected', async () => {
    const { ms } = await scenario.warm(5, countNotes)
    figures('kysely neon-http', { warm20Ms: ms, connects: connects(registry) })
  })
})
