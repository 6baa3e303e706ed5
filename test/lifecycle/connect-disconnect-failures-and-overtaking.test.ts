// registry.connect()/disconnect() (registry-hold.ts) where a connect fails, is overtaken, or closing fails,
// on a scripted driver so each ordering happens on cue:
// - a failed connect() counts nothing, and a disconnect() with nothing held does not drive the count negative;
// - CONNECT_FAILED names the failed databases, carries each reason, and closes the others gracefully
//   (a handler's transaction running meanwhile, and a plain disconnect(), leave that transaction alone);
// - a connect() overtaken by disconnect() that then fails rejects CLOSED (cause: the failure), and its
//   failure does not tear down what a later connect() opened;
// - disconnect() waits for the registry's request-scoped clients and rejects CLOSED naming any that failed to close.
import { afterEach, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { gate, scriptedDatabase } from './scripted-driver.js'
import { rejectionWithin, settledWithin, within } from './support.js'

const registries: Registry[] = []
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => settledWithin(r.disconnect({ force: true }), 2000)))
})

function registryOf(database: string | { url: string; scope: 'request' }, extra?: Record<string, string>): Registry {
  const registry = new Registry({ database, extra, platform: 'node', warn: false })
  registries.push(registry)
  return registry
}

const refused = (n: number) => async (attempt: number) => {
  if (attempt <= n) throw new Error(`scripted refusal of connect #${attempt}`)
}

describe('connect()/disconnect() counting', () => {
  it('a failed connect() counts nothing: one connect() and one disconnect() after it close', async () => {
    const db = scriptedDatabase({ connect: refused(1) })
    const registry = registryOf(db.url)
    const error = await rejectionWithin(registry.connect(), 2000, 'the failing connect()')
    expect((error as LazyDbError).code).toBe('CONNECT_FAILED')
    await within(registry.connect(), 2000, 'connect()')
    expect(registry.database.isConnected).toBe(true)
    await within(registry.disconnect(), 2000, 'disconnect()')
    expect(registry.database.isConnected, 'the one disconnect() matched the one connect() held').toBe(false)
    expect(db.log).toEqual(['connect #1', 'connect #2', 'close(false)'])
  })

  it('a disconnect() with nothing held does not let the count go below zero', async () => {
    const registry = registryOf(scriptedDatabase().url)
    await within(registry.disconnect(), 2000, 'the unmatched disconnect()')
    await within(registry.connect(), 2000, 'connect() #1')
    await within(registry.connect(), 2000, 'connect() #2')
    await within(registry.disconnect(), 2000, 'disconnect() #1 of 2')
    expect(registry.database.isConnected, 'one connect() is still held').toBe(true)
    await within(registry.disconnect(), 2000, 'disconnect() #2 of 2')
    expect(registry.database.isConnected).toBe(false)
  })
})

describe('connect() that fails', () => {
  it('one failed database: CONNECT_FAILED names it, carries its reason, and the others close gracefully', async () => {
    const ok = scriptedDatabase()
    const broken = scriptedDatabase({ connect: refused(1) })
    const registry = registryOf(ok.url, { broken: broken.url })
    const error = (await rejectionWithin(registry.connect(), 2000, 'connect()')) as LazyDbError
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error.code).toBe('CONNECT_FAILED')
    expect(error.database).toBe('broken')
    const cause = error.cause as LazyDbError
    expect(cause, 'the cause is the failed database’s own error').toBeInstanceOf(LazyDbError)
    expect(cause.database).toBe('broken')
    expect(cause.message).toContain('scripted refusal of connect #1')
    expect(error.message).toBe(
      `could not connect "broken" (the others were disconnected again). broken: ${cause.message}`,
    )
    expect(ok.log, 'the default was closed, not forced').toEqual(['connect #1', 'close(false)'])
    expect(registry.database.isConnected).toBe(false)
  })

  it('several failed databases: no single database, an AggregateError of every reason', async () => {
    const one = scriptedDatabase({ connect: refused(1) })
    const two = scriptedDatabase({ connect: refused(1) })
    const registry = registryOf(scriptedDatabase().url, { one: one.url, two: two.url })
    const error = (await rejectionWithin(registry.connect(), 2000, 'connect()')) as LazyDbError
    expect(error.code).toBe('CONNECT_FAILED')
    expect(error.database).toBeUndefined()
    expect(error.message).toMatch(/^could not connect "one", "two" \(the others were disconnected again\)\. one: /)
    expect(error.cause).toBeInstanceOf(AggregateError)
    const reasons = (error.cause as AggregateError).errors as LazyDbError[]
    expect(reasons.map((r) => [r.code, r.database])).toEqual([
      ['CONNECT_FAILED', 'one'],
      ['CONNECT_FAILED', 'two'],
    ])
  })

  it('a failing connect() and a plain disconnect() leave a running handler transaction alone', async () => {
    const ok = scriptedDatabase()
    const broken = scriptedDatabase({ connect: refused(1) })
    const registry = registryOf(ok.url, { broken: broken.url })
    const inside = gate()
    const goOn = gate()
    const run = handler(registry, () =>
      registry.database.transaction(async (tx) => {
        inside.open()
        await goOn.promise
        return (await tx.query('select 1')).rows
      }),
    )
    const running = run()
    running.catch(() => undefined)
    await within(inside.promise, 2000, 'the handler’s transaction')
    const failed = await rejectionWithin(registry.connect(), 2000, 'the failing connect()')
    expect((failed as LazyDbError).code).toBe('CONNECT_FAILED')
    await within(registry.connect(), 2000, 'connect() once the database is back')
    await within(registry.disconnect(), 2000, 'the plain disconnect()')
    goOn.open()
    expect(await within(running, 2000, 'the handler')).toEqual([{ ok: 1 }])
    expect(ok.log.filter((line) => line.startsWith('rollback'))).toEqual([])
    expect(ok.log).toContain('committed')
  })
})

describe('connect() overtaken by disconnect()', () => {
  it('rejects CLOSED with the failure as cause, and leaves a later connect() connected', async () => {
    const failLate = gate()
    const dialling = gate()
    const ok = scriptedDatabase()
    const broken = scriptedDatabase({
      connect: async (n) => {
        if (n > 1) return
        dialling.open()
        await failLate.promise
        throw new Error('scripted refusal, after disconnect() overtook the connect')
      },
    })
    const registry = registryOf(ok.url, { broken: broken.url })
    const first = registry.connect()
    first.catch(() => undefined)
    await within(dialling.promise, 2000, 'the first connect')
    const disconnecting = registry.disconnect()
    disconnecting.catch(() => undefined)
    await within(registry.connect(), 2000, 'the later connect()')
    failLate.open()
    const error = (await rejectionWithin(first, 2000, 'the overtaken connect()')) as LazyDbError
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error.code).toBe('CLOSED')
    expect(error.cause).toBeInstanceOf(LazyDbError)
    expect((error.cause as LazyDbError).code).toBe('CONNECT_FAILED')
    await within(disconnecting, 2000, 'the disconnect()')
    expect(registry.database.isConnected, 'what the later connect() opened is still open').toBe(true)
    expect(registry.extra.broken!.isConnected).toBe(true)
    // The later connect() is the only one held: a connect()/disconnect() pair keeps it, one more closes.
    await within(registry.connect(), 2000, 'connect()')
    await within(registry.disconnect(), 2000, 'disconnect()')
    expect(registry.database.isConnected).toBe(true)
    await within(registry.disconnect(), 2000, 'the last disconnect()')
    expect(registry.database.isConnected).toBe(false)
  })
})

describe('disconnect() whose closing fails', () => {
  it('rejects CLOSED naming the database whose client failed to close, with each reason', async () => {
    const fine = scriptedDatabase()
    const failing = scriptedDatabase({
      close: async () => {
        throw new Error('scripted failure while closing')
      },
    })
    const registry = registryOf(fine.url, { failing: failing.url })
    await within(registry.connect(), 2000, 'connect()')
    const error = (await rejectionWithin(registry.disconnect(), 2000, 'disconnect()')) as LazyDbError
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error.code).toBe('CLOSED')
    expect(error.message).toBe('disconnect finished, but closing failed for: failing')
    expect(error.cause).toBeInstanceOf(AggregateError)
    const reasons = (error.cause as AggregateError).errors as LazyDbError[]
    expect(reasons.map((r) => r.database)).toEqual(['failing'])
    expect(fine.log).toEqual(['connect #1', 'close(false)'])
  })

  it('waits for the registry’s request-scoped client to close, and reports its failure', async () => {
    const closeGate = gate()
    const db = scriptedDatabase({
      close: async () => {
        await closeGate.promise
        throw new Error('scripted failure while closing')
      },
    })
    const registry = registryOf({ url: db.url, scope: 'request' })
    await within(registry.connect(), 2000, 'connect()')
    expect(registry.database.isConnected).toBe(true)
    const disconnecting = registry.disconnect()
    disconnecting.catch(() => undefined)
    expect((await settledWithin(disconnecting, 100)).status, 'disconnect() while the close is under way').toBe(
      'pending',
    )
    closeGate.open()
    const error = (await rejectionWithin(disconnecting, 2000, 'disconnect()')) as LazyDbError
    expect(error.code).toBe('CLOSED')
    expect(error.message).toBe('disconnect finished, but closing failed for: default')
  })
})
