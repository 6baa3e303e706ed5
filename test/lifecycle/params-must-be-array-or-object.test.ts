// Parameters are an array (positional) or a plain object (named). Anything else is refused before the
// driver sees it with INVALID_ARGUMENT: a Map given to libSQL used to reach its native binding, which
// panicked and aborted the whole process. A batch is checked statement by statement, holes of a sparse
// array included (forEach skipped them, and the driver then failed on `undefined`).
import { afterAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry, type Statement } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import { settledWithin } from './support.js'

const files = tempDir('lazydb-params-shape-')
const registry = new Registry({ database: libsql(`file:${files.file('params.db')}`), platform: 'node', warn: false })
afterAll(async () => {
  await registry.disconnect({ force: true })
  files.remove()
})

/** The code of the LazyDbError `promise` rejects with within 2 s, else what it did instead. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  const settled = await settledWithin(promise, 2000)
  if (settled.status !== 'rejected') return settled.status
  const e = settled.reason
  return e instanceof LazyDbError ? e.code : `not a LazyDbError: ${String(e)}`
}

const notParams = <T>(value: T) => value as unknown as unknown[]

describe('parameters must be an array or a plain object (embedded libSQL)', () => {
  const db = registry.database

  it('a Map as query() parameters is INVALID_ARGUMENT, and the process goes on', async () => {
    expect(await codeOf(db.query('select ? as v', notParams(new Map([[1, 'x']]))))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(db.query('select :a as v', notParams(new Map([['a', 1]]))))).toBe('INVALID_ARGUMENT')
    expect((await db.query('select ? as v', [1])).rows).toEqual([{ v: 1 }])
  })

  it('named values (an object) for ? placeholders are INVALID_ARGUMENT, and the process goes on', async () => {
    // libSQL's native binding panics (aborting the process) on an object of named values for a `?` statement.
    expect(await codeOf(db.query('select ? as v', {}))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(db.query('select ? as v', { a: 1 }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(db.transaction((tx) => tx.query('select ?1 as v', { a: 1 })))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(db.batch([{ text: 'select ? as v', params: { a: 1 } }]))).toBe('INVALID_ARGUMENT')
    // A `?` inside a string or a comment is no placeholder: those run.
    expect((await db.query("select '?' as v, :a as a -- ?", { a: 1 })).rows).toEqual([{ v: '?', a: 1 }])
    expect((await db.query('select :a as v', { a: 2 })).rows).toEqual([{ v: 2 }])
  })

  it('a Map in tx.query() or in a batch statement is INVALID_ARGUMENT', async () => {
    expect(await codeOf(db.transaction((tx) => tx.query('select ? as v', notParams(new Map()))))).toBe(
      'INVALID_ARGUMENT',
    )
    expect(await codeOf(db.batch([{ text: 'select ? as v', params: notParams(new Map()) }]))).toBe('INVALID_ARGUMENT')
  })

  it('objects that are not plain (a Set, a Date, a Uint8Array, a class instance): INVALID_ARGUMENT', async () => {
    const named = new (class Named {
      a = 1
    })()
    for (const params of [new Set([1]), new Date(0), new Uint8Array(1), named]) {
      expect(await codeOf(db.query('select ? as v', notParams(params))), String(params)).toBe('INVALID_ARGUMENT')
    }
  })

  it('a sparse batch array is INVALID_ARGUMENT, with nothing run', async () => {
    await db.query('create table if not exists sparse (x integer)')
    const holeOnly = new Array<Statement>(1)
    const holeAfter: Statement[] = [{ text: 'insert into sparse values (1)' }]
    holeAfter.length = 2
    expect(await codeOf(db.batch(holeOnly))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(db.batch(holeAfter))).toBe('INVALID_ARGUMENT')
    expect((await db.query('select count(*) as n from sparse')).rows).toEqual([{ n: 0 }])
  })
})
