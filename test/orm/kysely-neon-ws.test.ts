// Kysely's own PostgresDialect over lazydb's Neon Pool: `new PostgresDialect({ pool: await
// registry.database.client() })` inside handler(), typed from `neon(url, { transport: 'ws' })` with no cast,
// through the local Neon WebSocket gateway. Pins down: create, insert, select, update; a Kysely transaction
// that commits (invisible outside until then) and one that rolls back, checked through an independent pg
// client; 20 warm invocations on one Pool and one server connection; request scope (a Pool per invocation,
// its server connections gone once it ends); `db.destroy()` ending lazydb's Pool (the next invocation gets a
// fresh one); why the Kysely is built per invocation (one kept across an idle close has an ended Pool); and
// the suite's LazyDbDialect at module scope on a request-scoped database (a Pool per invocation, closed).
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Kysely handlers.
import { describe, expect, it } from 'vitest'
import { Kysely, PostgresDialect } from 'kysely'
import { handler, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { LazyDbDialect } from './kysely-lazydb-dialect.js'
import { poll } from '../support/poll.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import {
  connects,
  type Decide,
  figures,
  idleClosingRegistry,
  type KyselyNote,
  kyselyNotes,
  noteScenario,
  pgReader,
  rejection,
  requestScoped,
  STEP_MS,
  startNeon,
  unique,
  within,
} from './support.js'

const pgUp = await requirePostgres()
const TABLE = `orm_kysely_neon_ws_${process.pid}` as const
type Tables = Record<typeof TABLE, KyselyNote>
const APP = unique('orm-kysely-ws')
const REQUEST_APP = unique('orm-kysely-ws-request')
const IDLE_APP = unique('orm-kysely-ws-idle')
const LAZY_APP = unique('orm-kysely-ws-lazydb')

const backend = await startNeon()
const registry = new Registry({
  database: neon(backend.url(APP), { transport: 'ws', max: 2, ...backend.ws }),
  warn: false,
})
const scenario = noteScenario(registry, TABLE, pgUp && pgReader, { force: true, close: backend.close })
const notes = kyselyNotes(TABLE)
/** Kysely's PostgresDialect on lazydb's Pool, for this invocation. */
const kysely = async () =>
  new Kysely<Tables>({ dialect: new PostgresDialect({ pool: await registry.database.client() }) })

const createTable = handler(registry, async () => notes.createTable(await kysely(), 'postgres'))
const listNotes = handler(registry, async () => notes.list(await kysely()))
const setN = handler(registry, async (body: string, n: number) => notes.setN(await kysely(), body, n))
const addNotes = handler(registry, async (bodies: string[]) => notes.add(await kysely(), bodies))
const openTransaction = handler(registry, async (body: string, decide: Decide) =>
  notes.insertThenDecide(await kysely(), body, decide),
)

const countNotes = handler(registry, async () => {
  const pool = await registry.database.client()
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) })
  return { count: Number(await notes.count(db)), client: pool }
})

describe.skipIf(!pgUp)("Kysely on Neon over WebSocket (Kysely's PostgresDialect over lazydb's Pool)", () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.crud({ createTable, insert: addNotes, select: listNotes, update: setN }, 'row')
  })

  it('commits a Kysely transaction, and rolls back one that fails, as an independent pg client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /duplicate key value violates unique constraint/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from one Pool on one server connection', async () => {
    const { ms } = await scenario.warm(5, countNotes)
    const backends = await scenario.reader.backends(APP)
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
    const { count, client: pool } = await within(countNotes(), STEP_MS, 'next invocation')
    expect([count, pool === ended, pool.ended, connects(registry)]).toEqual([5, false, false, 2])
    expect(await within(waitForConnectionCount(1, APP), STEP_MS, 'one backend')).toBe(1)
  })

  it('a Kysely kept across invocations keeps an ended Pool after lazydb idle-closes it', async () => {
    const { registry: idle, closes } = idleClosingRegistry(backend, IDLE_APP)
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
    await requestScoped('kysely neon-ws', backend, scenario.reader, REQUEST_APP, async (database) => {
      const pool = await database.client()
      const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) })
      const rows = await db.selectFrom(TABLE).select('id').execute()
      return { count: rows.length, pool }
    })
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
      expect(await scenario.reader.n(TABLE, 'b')).toBe(10)
      const stats = scoped.stats().databases.default!
      expect([stats.connects, stats.closes]).toEqual([3, 3])
    } finally {
      await within(scoped.disconnect({ force: true }), STEP_MS, 'disconnect')
    }
  })
})
