// What a rollback scope sends on its session, on a fake driver that records every text in order:
// nothing connects when the scope starts; the first use begins the one outer transaction; a batch and
// each transaction() are savepoints (RELEASE on success, ROLLBACK TO and RELEASE on a throw); on a
// Postgres driver each lone statement gets a savepoint of its own (a failed one would otherwise abort
// the outer transaction); the scope's end rolls the outer transaction back, after which statements run
// as plain statements again. A driver that cannot open a transaction makes the scope's statements fail
// with TRANSACTION_UNSUPPORTED saying what to do, and leaves no client held.
import { afterEach, describe, expect, it } from 'vitest'
import { LazyDbError, Registry, registerDriver, startRollback, withRollback } from '@lazydb/core'
import { fakeDriver } from './fake-driver.js'
import { settledWithin } from './support.js'

const registries: Registry[] = []
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => settledWithin(r.disconnect({ force: true }), 2000)))
})

function libsqlRegistry() {
  const driver = fakeDriver()
  registerDriver(driver)
  const registry = new Registry({ database: 'ws://fake.local', platform: 'node', warn: false })
  registries.push(registry)
  return { driver, registry, db: registry.database }
}

describe('rollback scope: the statements on the session', () => {
  it('begins lazily, turns batch and transaction() into savepoints, and rolls back at the end', async () => {
    const { driver, registry, db } = libsqlRegistry()
    const scope = startRollback(registry)
    expect(driver.clients).toHaveLength(0)
    await db.query('select 1')
    await db.batch([{ text: 'insert a' }, { text: 'insert b' }])
    await db.transaction(async (tx) => {
      await tx.query('insert x')
    })
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert y')
        throw new Error('no')
      }),
    ).rejects.toThrow('no')
    await scope.end()
    await db.query('select 2')
    expect(driver.clients).toHaveLength(1)
    expect(driver.clients[0]!.texts).toEqual([
      'BEGIN',
      'select 1',
      'SAVEPOINT lazydb_sp_1',
      'insert a',
      'insert b',
      'RELEASE SAVEPOINT lazydb_sp_1',
      'SAVEPOINT lazydb_sp_2',
      'insert x',
      'RELEASE SAVEPOINT lazydb_sp_2',
      'SAVEPOINT lazydb_sp_3',
      'insert y',
      'ROLLBACK TO SAVEPOINT lazydb_sp_3',
      'RELEASE SAVEPOINT lazydb_sp_3',
      'ROLLBACK',
      'select 2',
    ])
  })

  it('on a Postgres driver a lone statement runs in a savepoint of its own', async () => {
    const driver = fakeDriver({ name: 'neon-ws' })
    registerDriver(driver)
    const registry = new Registry({
      database: { url: 'postgres://u:p@ep-fake.neon.tech/db', driver: 'neon-ws' },
      platform: 'node',
      warn: false,
    })
    registries.push(registry)
    const scope = startRollback(registry)
    await registry.database.query('update t set n = 1')
    await scope.end()
    expect(driver.clients[0]!.texts).toEqual([
      'BEGIN',
      'SAVEPOINT lazydb_sp_1',
      'update t set n = 1',
      'RELEASE SAVEPOINT lazydb_sp_1',
      'ROLLBACK',
    ])
  })

  it('a driver that cannot open a transaction: TRANSACTION_UNSUPPORTED saying what to do, none held', async () => {
    const { driver, registry, db } = libsqlRegistry()
    const refusal = new LazyDbError('TRANSACTION_UNSUPPORTED', 'no session on this transport', { database: 'default' })
    driver.beginNext.push(
      () => {
        throw refusal
      },
      () => {
        throw refusal
      },
    )
    const scope = startRollback(registry)
    const error = await db.query('insert z').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED', database: 'default', cause: refusal })
    expect((error as Error).message).toMatch(/rollback scope runs every statement in one transaction/)
    expect((error as Error).message).toMatch(/neon-ws/)
    // Each use tries again (a transient failure is not remembered), and fails the same way.
    await expect(db.query('insert z')).rejects.toMatchObject({ code: 'TRANSACTION_UNSUPPORTED' })
    await scope.end()
    expect(driver.clients[0]!.texts).toEqual(['BEGIN', 'BEGIN'])
    // Nothing held: a graceful disconnect closes the client at once.
    await registry.disconnect()
    expect(driver.clients[0]!.closed).toBe(true)
  })

  it('on.query still sees every statement inside the scope', async () => {
    const driver = fakeDriver()
    registerDriver(driver)
    const seen: string[] = []
    const registry = new Registry({
      database: 'ws://fake.local',
      platform: 'node',
      warn: false,
      on: { query: (event) => void seen.push(`${event.text}${event.error === undefined ? '' : ' failed'}`) },
    })
    registries.push(registry)
    await withRollback(registry, async () => {
      await registry.database.query('select 1')
      await registry.database.query('insert 2')
    })
    expect(seen).toEqual(['select 1', 'insert 2'])
    expect(driver.clients[0]!.texts).toEqual(['BEGIN', 'select 1', 'insert 2', 'ROLLBACK'])
  })
})
