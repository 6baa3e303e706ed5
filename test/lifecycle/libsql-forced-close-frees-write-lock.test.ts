// An embedded libSQL file: disconnect({ force: true }) while a transaction holds the write lock rolls
// that transaction back and frees the file, so the next write — through lazydb (which reconnects
// lazily) and through an independent connection — works at once instead of failing SQLITE_BUSY for
// seconds, and nothing of the cut-off transaction is committed.
import { createClient } from '@libsql/client'
import { afterAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin, sleep } from './support.js'

const tmp = tempDir('lazydb-forced-write-lock-')
afterAll(() => tmp.remove())

/** 'ok', 'pending', or the error's code and message: how `promise` settled within `ms`. */
async function result(promise: Promise<unknown>, ms: number): Promise<string> {
  const settled = await settledWithin(promise, ms)
  if (settled.status === 'fulfilled') return 'ok'
  if (settled.status === 'pending') return 'pending'
  const e = settled.reason as { code?: unknown; message?: unknown }
  return `${String(e?.code)}: ${String(e?.message)}`
}

/** A write on a connection of its own (not lazydb's), with libSQL's own busy wait. */
async function independentWrite(url: string, ms: number): Promise<string> {
  const other = createClient({ url })
  try {
    return await result(other.execute('insert into t values (42)'), ms)
  } finally {
    other.close()
  }
}

async function values(url: string): Promise<number[]> {
  const other = createClient({ url })
  try {
    return (await other.execute('select x from t order by x')).rows.map((row) => Number(row.x))
  } finally {
    other.close()
  }
}

describe('disconnect({ force: true }) frees an embedded file held by a transaction', () => {
  it('a transaction outside handler(): the next writes run at once', async () => {
    const url = `file:${tmp.file('outside.db')}`
    const registry = new Registry({ database: libsql(url), platform: 'node', warn: false })
    await registry.database.query('create table t (x integer)')
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const transaction = registry.database.transaction(async (tx) => {
      await tx.query('insert into t values (1)')
      await gate
      await tx.query('insert into t values (2)')
    })
    await sleep(50)
    expect(await result(registry.disconnect({ force: true }), 2000)).toBe('ok')
    release()
    const cutOff = await settledWithin(transaction, 2000)
    expect(cutOff.status).toBe('rejected')
    expect((cutOff as { reason: unknown }).reason).toBeInstanceOf(LazyDbError)

    expect(await result(registry.database.query('insert into t values (5)'), 1000)).toBe('ok')
    expect(
      await result(
        registry.database.transaction((tx) => tx.query('insert into t values (9)')),
        1000,
      ),
    ).toBe('ok')
    expect(await independentWrite(url, 1500)).toBe('ok')
    expect(await values(url)).toEqual([5, 9, 42])
    await registry.disconnect()
  })

  it('disconnect({ force: true }) inside the transaction fn: the next writes run at once', async () => {
    const url = `file:${tmp.file('inside.db')}`
    const registry = new Registry({ database: libsql(url), platform: 'node', warn: false })
    await registry.database.query('create table t (x integer)')
    const transaction = registry.database.transaction(async (tx) => {
      await tx.query('insert into t values (1)')
      await registry.disconnect({ force: true })
      await tx.query('insert into t values (2)')
    })
    const cutOff = await settledWithin(transaction, 2000)
    expect(cutOff.status).toBe('rejected')
    expect((cutOff as { reason: unknown }).reason).toBeInstanceOf(LazyDbError)

    expect(await result(registry.database.query('insert into t values (5)'), 1000)).toBe('ok')
    expect(await independentWrite(url, 1500)).toBe('ok')
    expect(await values(url)).toEqual([5, 42])
    await registry.disconnect()
  })

  it('an invocation holding a transaction when shutdown forces the close: the next invocation writes', async () => {
    const url = `file:${tmp.file('handler.db')}`
    const registry = new Registry({ database: libsql(url), platform: 'node', warn: false })
    await registry.database.query('create table t (x integer)')
    const invoke = handler(registry, (slow: boolean) =>
      registry.database.transaction(async (tx) => {
        await tx.query('insert into t values (1)')
        if (slow) await sleep(300)
      }),
    )
    const first = invoke(true)
    await sleep(100)
    expect(await result(registry.disconnect({ force: true }), 2000)).toBe('ok')
    expect(await result(first, 2000)).not.toBe('pending')

    expect(await result(invoke(false), 1000)).toBe('ok')
    expect(await independentWrite(url, 1500)).toBe('ok')
    expect(await values(url)).toEqual([1, 42])
    await registry.disconnect()
  })
})
