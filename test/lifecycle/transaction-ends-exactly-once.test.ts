// A transaction ends once, by commit or by rollback, and its owner's end (here: the registry's last
// disconnect()) never undoes or doubles that, on a scripted driver so each ordering happens on cue:
// - a COMMIT in flight when the owner ends is not rolled back under it, and the client closes after it;
// - an owner that ended while `fn` ran (or while BEGIN was in flight) rolls the transaction back once,
//   and the transaction then rejects CLOSED instead of committing;
// - `fn` throwing rolls back with ROLLBACK (the session is kept), not by dropping the session;
// - a statement failing on its own during that graceful rollback reports its own error, not CLOSED;
// - a finished transaction is not kept by the registry's owner; tx.sql and tx.query check their
//   arguments and work with and without tracing.
import { afterEach, describe, expect, it } from 'vitest'
import { handler, LazyDbError, lifecycleOf, Registry, type RegistryOptions, type Tracing } from '@lazydb/core'
import { gate, scriptedDatabase } from './scripted-driver.js'
import { rejectionWithin, settledWithin, within } from './support.js'

const registries: Registry[] = []
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => settledWithin(r.disconnect({ force: true }), 2000)))
})

function registryOf(url: string, options: Partial<RegistryOptions> = {}): Registry {
  const registry = new Registry({ database: url, platform: 'node', warn: false, ...options })
  registries.push(registry)
  return registry
}

async function closeLogged(log: string[]): Promise<void> {
  const deadline = Date.now() + 2000
  while (!log.some((line) => line.startsWith('close(')) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('the owner ends around a commit', () => {
  it('a COMMIT in flight is not rolled back when the owner ends, and the client closes after it', async () => {
    const committing = gate()
    const commitGate = gate()
    const db = scriptedDatabase({
      commit: async () => {
        committing.open()
        await commitGate.promise
      },
    })
    const registry = registryOf(db.url)
    await within(registry.connect(), 2000, 'connect()')
    const done = registry.database.transaction(async (tx) => (await tx.query('select 1')).rows)
    done.catch(() => undefined)
    await within(committing.promise, 2000, 'the COMMIT')
    await within(registry.disconnect(), 2000, 'disconnect() during the COMMIT')
    expect(db.log, 'nothing rolled back or closed under the COMMIT').toEqual([
      'connect #1',
      'begin',
      'query select 1',
      'commit',
    ])
    commitGate.open()
    expect(await within(done, 2000, 'the transaction')).toEqual([{ ok: 1 }])
    await closeLogged(db.log)
    expect(db.log.slice(4)).toEqual(['committed', 'close(false)'])
  })

  it('an owner that ended while fn ran: rolled back once, the transaction rejects CLOSED, never commits', async () => {
    const inside = gate()
    const goOn = gate()
    const db = scriptedDatabase()
    const registry = registryOf(db.url)
    await within(registry.connect(), 2000, 'connect()')
    const done = registry.database.transaction(async (tx) => {
      await tx.query('select 1')
      inside.open()
      await goOn.promise
      return 'fn finished'
    })
    done.catch(() => undefined)
    await within(inside.promise, 2000, 'fn')
    await within(registry.disconnect(), 2000, 'disconnect() while fn runs')
    goOn.open()
    const error = (await rejectionWithin(done, 2000, 'the transaction')) as LazyDbError
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error.code).toBe('CLOSED')
    await closeLogged(db.log)
    expect(db.log).toEqual(['connect #1', 'begin', 'query select 1', 'rollback(false)', 'close(false)'])
  })

  it('an owner that ended while BEGIN was in flight: rolled back with ROLLBACK, fn’s statements refused', async () => {
    const beginning = gate()
    const beginGate = gate()
    const db = scriptedDatabase({
      begin: async () => {
        beginning.open()
        await beginGate.promise
      },
    })
    const registry = registryOf(db.url)
    await within(registry.connect(), 2000, 'connect()')
    const done = registry.database.transaction(async (tx) => (await tx.query('select 2')).rows)
    done.catch(() => undefined)
    await within(beginning.promise, 2000, 'the BEGIN')
    // A graceful disconnect waits for the BEGIN on its way, then rolls it back, before it resolves.
    let disconnected = false
    const disconnecting = registry.disconnect().then(() => void (disconnected = true))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(disconnected, 'disconnect() resolved with a BEGIN still on its way').toBe(false)
    beginGate.open()
    await within(disconnecting, 2000, 'disconnect() after the BEGIN')
    const error = (await rejectionWithin(done, 2000, 'the transaction')) as LazyDbError
    expect(error.code).toBe('CLOSED')
    await closeLogged(db.log)
    expect(db.log).toEqual(['connect #1', 'begin', 'rollback(false)', 'close(false)'])
  })

  it('a forced end just after the COMMIT finished (from an on.close hook) does not roll it back', async () => {
    const inside = gate()
    const goOn = gate()
    const db = scriptedDatabase()
    let forced: Promise<void> | undefined
    const registry = registryOf(db.url, {
      // The client closes as the COMMIT releases it; the hook runs then, before transaction() has returned.
      on: { close: () => void (forced ??= registry.disconnect({ force: true })) },
    })
    await within(registry.connect(), 2000, 'connect()')
    const run = handler(registry, () =>
      registry.database.transaction(async (tx) => {
        inside.open()
        await goOn.promise
        return (await tx.query('select 1')).rows
      }),
    )
    const running = run()
    running.catch(() => undefined)
    await within(inside.promise, 2000, 'fn')
    await within(registry.disconnect(), 2000, 'disconnect(): the client closes when the transaction lets go')
    goOn.open()
    expect(await within(running, 2000, 'the handler')).toEqual([{ ok: 1 }])
    expect(forced, 'the close hook ran').toBeDefined()
    await within(forced!, 2000, 'the forced disconnect()')
    expect(db.log).toEqual(['connect #1', 'begin', 'query select 1', 'commit', 'committed', 'close(false)'])
  })
})

describe('fn throws', () => {
  it('rolls back with ROLLBACK (not by dropping the session) and rethrows fn’s error', async () => {
    const db = scriptedDatabase()
    const registry = registryOf(db.url)
    const failure = new Error('fn failed')
    const error = await rejectionWithin(
      registry.database.transaction(async (tx) => {
        await tx.query('select 1')
        throw failure
      }),
      2000,
      'the transaction',
    )
    expect(error).toBe(failure)
    expect(db.log).toEqual(['connect #1', 'begin', 'query select 1', 'rollback(false)'])
  })

  it('a statement failing on its own while the owner rolls back gracefully reports its own error', async () => {
    const running = gate()
    const failNow = gate()
    const db = scriptedDatabase({
      query: async (text) => {
        if (text !== 'select fails') return
        running.open()
        await failNow.promise
        throw new Error('scripted syntax error')
      },
    })
    const registry = registryOf(db.url)
    await within(registry.connect(), 2000, 'connect()')
    const done = registry.database.transaction((tx) => tx.query('select fails'))
    done.catch(() => undefined)
    await within(running.promise, 2000, 'the statement')
    await within(registry.disconnect(), 2000, 'disconnect() (a graceful end)')
    failNow.open()
    const error = (await rejectionWithin(done, 2000, 'the transaction')) as LazyDbError
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error.code, 'the statement failed by itself; nothing was closed under it').not.toBe('CLOSED')
    expect(error.message).toContain('scripted syntax error')
  })
})

describe('the tx handle', () => {
  it('a finished transaction is no longer tracked by the registry’s owner', async () => {
    const registry = registryOf(scriptedDatabase().url)
    await within(registry.connect(), 2000, 'connect()')
    await within(
      registry.database.transaction((tx) => tx.query('select 1')),
      2000,
      'the transaction',
    )
    await expect(registry.database.transaction(() => Promise.reject(new Error('no')))).rejects.toThrow('no')
    const owner = lifecycleOf(registry).held
    expect(owner, 'connect() is held').toBeDefined()
    expect(owner!.open?.size ?? 0, 'open transactions the registry’s owner still tracks').toBe(0)
  })

  it('tx.sql runs a tagged template and rejects a call that is not one', async () => {
    const db = scriptedDatabase()
    const registry = registryOf(db.url)
    const { tagged, called } = await within(
      registry.database.transaction(async (tx) => {
        const tagged = await tx.sql`select ${1} as ok`
        const notTagged = (tx.sql as unknown as (text: string) => Promise<unknown>)('select 1')
        return { tagged, called: await settledWithin(Promise.resolve(notTagged), 1000) }
      }),
      2000,
      'the transaction',
    )
    expect(tagged.rows).toEqual([{ ok: 1 }])
    expect(db.log).toContain('query select ? as ok')
    expect(called.status).toBe('rejected')
    expect(((called as { reason: unknown }).reason as LazyDbError).code).toBe('INVALID_ARGUMENT')
  })

  it('tx.query refuses params that are neither an array nor an object, without sending anything', async () => {
    const db = scriptedDatabase()
    const registry = registryOf(db.url)
    const outcome = await within(
      registry.database.transaction(async (tx) => settledWithin(tx.query('select 5', 'five' as never), 1000)),
      2000,
      'the transaction',
    )
    expect(outcome.status).toBe('rejected')
    expect(((outcome as { reason: unknown }).reason as LazyDbError).code).toBe('INVALID_ARGUMENT')
    expect(db.log).not.toContain('query select 5')
  })

  it('with tracing, tx.query answers and is traced as a statement inside the transaction', async () => {
    const traced: string[] = []
    const tracing: Tracing = {
      trace: (operation, run) => {
        traced.push(`${operation.kind}${operation.text === undefined ? '' : ` ${operation.text}`}`)
        return run()
      },
    }
    const registry = registryOf(scriptedDatabase().url, { tracing })
    const rows = await within(
      registry.database.transaction(async (tx) => (await tx.query('select 3')).rows),
      2000,
      'the transaction',
    )
    expect(rows).toEqual([{ ok: 1 }])
    expect(traced).toEqual(['transaction', 'connect', 'statement select 3'])
  })
})
