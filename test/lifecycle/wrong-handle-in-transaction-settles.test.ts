// On a full neon-ws Pool (max 1), a transaction's fn that uses `db` instead of `tx`, or opens a nested
// transaction, waits for a connection that only the transaction itself can give back. The checkout is
// bounded — by connectionTimeoutMillis, which lazydb sets to 10 s when the database leaves it unset
// (pg-pool's own default waits forever) — so the transaction rejects with a LazyDbError instead of
// hanging; it is rolled back, and the Pool serves the next statement.
// The default is what a user gets without knowing about it, so it is tested as it is (one 10 s wait,
// both cases at once). A checkout that timed out in the Pool's queue is TIMEOUT and never retried (the
// same wait would follow): the bound is one connectionTimeoutMillis, whatever retry says.
import { describe, expect, it } from 'vitest'
import { type Database, LazyDbError, type RetryOptions } from '@lazydb/core'
import { requirePostgres } from '../support/postgres.js'
import { poolSuite } from './pool-suite.js'
import { describeOutcome, idleInTransaction, settledWithin } from './pool-support.js'

const pgUp = await requirePostgres()

/** What lazydb sets when a neon-ws database leaves connectionTimeoutMillis unset. */
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000
const SLACK_MS = 1500

describe.skipIf(!pgUp)('a transaction fn waiting for its own Pool connection settles', () => {
  const { admin, open } = poolSuite()

  function setup(label: string, retry: RetryOptions, connectionTimeoutMillis?: number) {
    const timeout = connectionTimeoutMillis === undefined ? {} : { connectionTimeoutMillis }
    const { app, registry } = open(label, { max: 1, ...timeout }, { retry })
    return { app, db: registry.database }
  }

  const wrongHandle = (db: Database) => () =>
    db.transaction(async (tx) => {
      await tx.query('select 1')
      await db.query('select 2') // should have been tx.query
      return 'done'
    })
  const nested = (db: Database) => () =>
    db.transaction(async (tx) => {
      await tx.query('select 1')
      return db.transaction((inner) => inner.query('select 2'))
    })

  /** Runs `transaction`, expecting a LazyDbError within `boundMs`; then the Pool must serve `select 1`. */
  async function settlesAndRecovers(
    app: string,
    db: Database,
    transaction: () => Promise<unknown>,
    boundMs: number,
  ): Promise<void> {
    const started = Date.now()
    const outcome = await settledWithin(transaction(), boundMs)
    const elapsed = Date.now() - started
    expect(describeOutcome(outcome), `after ${elapsed} ms`).toBe('rejected TIMEOUT')
    expect(outcome.state === 'rejected' && outcome.error).toBeInstanceOf(LazyDbError)
    expect(outcome.state === 'rejected' && (outcome.error as LazyDbError).mayHaveRun).toBe(false)
    expect(await idleInTransaction(admin, app)).toEqual([])
    expect(describeOutcome(await settledWithin(db.query('select 1 as one'), 2000))).toBe('resolved')
  }

  it('connectionTimeoutMillis unset: db in the fn, and a nested transaction, reject within 10 s', async () => {
    const a = setup('wrong-handle-default', {})
    const b = setup('nested-tx-default', {})
    const bound = DEFAULT_CONNECTION_TIMEOUT_MS + SLACK_MS
    await Promise.all([
      settlesAndRecovers(a.app, a.db, wrongHandle(a.db), bound),
      settlesAndRecovers(b.app, b.db, nested(b.db), bound),
    ])
  }, 20_000)

  it('connectionTimeoutMillis 500, retry.totalMs 3000: both reject within one 500 ms wait', async () => {
    const retry = { baseDelayMs: 50, totalMs: 3000 }
    const a = setup('wrong-handle', retry, 500)
    const b = setup('nested-tx', retry, 500)
    const bound = 500 + SLACK_MS
    await Promise.all([
      settlesAndRecovers(a.app, a.db, wrongHandle(a.db), bound),
      settlesAndRecovers(b.app, b.db, nested(b.db), bound),
    ])
  })
})
