// A method taken off its object (`const { query } = db; query('select 1')`, as a destructuring
// import or a callback would) is a usage mistake lazydb names: a LazyDbError INVALID_ARGUMENT saying to
// call it on the object, thrown or rejected the way the method reports errors — never a TypeError from
// reading a private field of `undefined`.
import { afterAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin } from './support.js'

const files = tempDir('lazydb-detached-')
const registry = new Registry({ database: libsql(`file:${files.file('detached.db')}`), platform: 'node', warn: false })
afterAll(async () => {
  await registry.disconnect({ force: true })
  files.remove()
})

/** What calling `call` failed with: its synchronous throw, or its rejection within 2 s. */
async function failureOf(call: () => unknown): Promise<unknown> {
  let returned: unknown
  try {
    returned = call()
  } catch (error) {
    return error
  }
  if (!(returned instanceof Promise)) return `returned ${String(returned)}`
  const settled = await settledWithin(returned, 2000)
  return settled.status === 'rejected' ? settled.reason : settled.status
}

/** 'INVALID_ARGUMENT' for the LazyDbError expected, else what it was instead. */
function codeOf(failure: unknown): string {
  if (failure instanceof LazyDbError) return failure.code
  const e = failure as { name?: unknown; message?: unknown }
  return typeof failure === 'string' ? failure : `${String(e?.name)}: ${String(e?.message)}`
}

describe('a detached method is INVALID_ARGUMENT', () => {
  const db = registry.database
  const cases: [string, () => unknown][] = [
    ['db.query', () => (0, db.query)('select 1')],
    ['db.sql', () => (0, db.sql)`select 1`],
    ['db.batch', () => (0, db.batch)([{ text: 'select 1' }])],
    ['db.transaction', () => (0, db.transaction)(async () => 1)],
    ['db.client', () => (0, db.client)()],
    ['registry.connect', () => (0, registry.connect)()],
    ['registry.disconnect', () => (0, registry.disconnect)()],
    ['registry.using', () => (0, registry.using)()],
    ['registry.stats', () => (0, registry.stats)()],
  ]

  it.each(cases)('%s called without its object', async (_name, call) => {
    const failure = await failureOf(call)
    expect(codeOf(failure)).toBe('INVALID_ARGUMENT')
    expect((failure as Error).message).toMatch(/called without its (database|registry)/)
  })

  it('a destructured query, sql and connect: INVALID_ARGUMENT, and the registry still works', async () => {
    const { query, sql } = db
    const { connect } = registry
    expect(codeOf(await failureOf(() => query('select 1')))).toBe('INVALID_ARGUMENT')
    expect(codeOf(await failureOf(() => sql`select 1`))).toBe('INVALID_ARGUMENT')
    expect(codeOf(await failureOf(() => connect()))).toBe('INVALID_ARGUMENT')
    expect((await db.query('select 1 as one')).rows).toEqual([{ one: 1 }])
  })

  it('tx.query and tx.sql taken off the transaction handle', async () => {
    const failure = await failureOf(() => db.transaction((tx) => (0, tx.query)('select 1')))
    expect(codeOf(failure)).toBe('INVALID_ARGUMENT')
    const sqlFailure = await failureOf(() =>
      db.transaction((tx) => {
        const detachedSql = tx.sql
        return detachedSql`select 1`
      }),
    )
    expect(codeOf(sqlFailure)).toBe('INVALID_ARGUMENT')
  })
})
