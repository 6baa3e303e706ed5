// Work cut off by a forced close (handler timeoutMs in request scope, disconnect({ force: true }))
// rejects with CLOSED and `mayHaveRun: true` when it had been sent: an INSERT still running, a COMMIT
// still running. Both do commit on the server after all, which the tests check independently; a caller
// told `mayHaveRun: false` would retry and write twice. Only work that never started (a statement still
// queued for a pool connection) says `mayHaveRun: false`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError } from '@lazydb/core'
import { poll } from '../support/poll.js'
import { requirePostgres } from '../support/postgres.js'
import { poolSuite } from './pool-suite.js'
import { describeOutcome, type Outcome, settledWithin, sleep, track } from './pool-support.js'

const pgUp = await requirePostgres()

/** 'CODE mayHaveRun=…' for a LazyDbError, else a description of the outcome. */
function shown(outcome: Outcome<unknown>): string {
  if (outcome.state !== 'rejected') return outcome.state
  const e = outcome.error
  return e instanceof LazyDbError ? `${e.code} mayHaveRun=${e.mayHaveRun}` : `not a LazyDbError: ${String(e)}`
}

describe.skipIf(!pgUp)('work cut off by a forced close may have run', () => {
  const { admin, open } = poolSuite()
  const suffix = `${process.pid}`
  const rows = `lazydb_rv_cutoff_${suffix}`
  const slow = `lazydb_rv_slow_commit_${suffix}`

  beforeAll(async () => {
    await admin.query(`create table ${rows} (tag text not null)`)
    // A COMMIT that takes 1 s: a deferred constraint trigger sleeps when the transaction commits.
    await admin.query(`create table ${slow} (tag text not null)`)
    await admin.query(
      `create function ${slow}_fn() returns trigger language plpgsql ` +
        'as $$ begin perform pg_sleep(1); return null; end $$',
    )
    await admin.query(
      `create constraint trigger ${slow}_trg after insert on ${slow} deferrable initially deferred ` +
        `for each row execute function ${slow}_fn()`,
    )
  })
  afterAll(async () => {
    await admin.query(`drop table if exists ${rows}`)
    await admin.query(`drop table if exists ${slow}`)
    await admin.query(`drop function if exists ${slow}_fn()`)
  })

  const countIn = async (table: string, tag: string) =>
    (await admin.query<{ n: number }>(`select count(*)::int as n from ${table} where tag = $1`, [tag])).rows[0]!.n
  /** The row written under `tag` shows up (the cut-off work did commit on the server). */
  const committed = (table: string, tag: string) => poll(async () => (await countIn(table, tag)) === 1, 3000)

  it('timeoutMs 300, request scope: an INSERT … FROM pg_sleep(1) running → CLOSED, mayHaveRun true', async () => {
    const { app, registry } = open('cutoff-insert', { scope: 'request' })
    let statement: Promise<unknown> | undefined
    const invoke = handler(
      registry,
      async () => {
        statement = registry.database.query(`insert into ${rows} (tag) select $1 from pg_sleep(1)`, [app])
        await statement
      },
      { timeoutMs: 300 },
    )
    expect(describeOutcome(await settledWithin(invoke(), 3000))).toBe('rejected TIMEOUT')
    expect(shown(await settledWithin(statement!, 1000))).toBe('CLOSED mayHaveRun=true')
    expect(await committed(rows, app)).toBe(true)
  })

  it('timeoutMs 300, request scope: a COMMIT running → transaction() CLOSED, mayHaveRun true', async () => {
    const { app, registry } = open('cutoff-commit', { scope: 'request' })
    let transaction: Promise<unknown> | undefined
    const invoke = handler(
      registry,
      async () => {
        transaction = registry.database.transaction((tx) => tx.query(`insert into ${slow} (tag) values ($1)`, [app]))
        await transaction
      },
      { timeoutMs: 300 },
    )
    expect(describeOutcome(await settledWithin(invoke(), 3000))).toBe('rejected TIMEOUT')
    expect(shown(await settledWithin(transaction!, 1000))).toBe('CLOSED mayHaveRun=true')
    expect(await committed(slow, app)).toBe(true)
  })

  it('disconnect({ force: true }), warm: a COMMIT running → transaction() CLOSED, mayHaveRun true', async () => {
    const { app, registry } = open('cutoff-force-commit', { scope: 'warm' })
    const transaction = track(
      registry.database.transaction((tx) => tx.query(`insert into ${slow} (tag) values ($1)`, [app])),
    )
    await sleep(400) // the insert is done; COMMIT is running its 1 s trigger
    expect(shown(transaction.outcome)).toBe('pending')
    expect(shown(await settledWithin(registry.disconnect({ force: true }), 2000))).toBe('resolved')
    expect(shown(await settledWithin(transaction.promise, 1000))).toBe('CLOSED mayHaveRun=true')
    expect(await committed(slow, app)).toBe(true)
  })

  it('disconnect({ force: true }), warm, max 1: the running INSERT may have run, the queued one did not', async () => {
    const { app, registry } = open('cutoff-force-insert', { scope: 'warm', max: 1 })
    const running = track(registry.database.query(`insert into ${rows} (tag) select $1 from pg_sleep(1)`, [app]))
    const queued = track(registry.database.query(`insert into ${rows} (tag) values ($1)`, [`${app}-queued`]))
    await sleep(400)
    expect(shown(await settledWithin(registry.disconnect({ force: true }), 2000))).toBe('resolved')
    expect(shown(await settledWithin(running.promise, 1000))).toBe('CLOSED mayHaveRun=true')
    expect(shown(await settledWithin(queued.promise, 1000))).toBe('CLOSED mayHaveRun=false')
    expect(await committed(rows, app)).toBe(true)
    expect(await countIn(rows, `${app}-queued`)).toBe(0)
  })
})
