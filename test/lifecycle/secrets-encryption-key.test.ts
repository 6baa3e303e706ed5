// Pins down: a libSQL `encryptionKey` is a secret. It appears in no error (text, stack, fields, cause
// chain, deep inspect, the error hook) on the real failure paths of an encrypted file: opened with
// the wrong key, opened with no key, and a path that cannot be opened as a database. Nor does it
// appear when the registry, its database, or the `tx` of a transaction is printed.
import { mkdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'
import {
  QUICK_RETRY,
  errorRenderings,
  expectNoLeaks,
  leaks,
  rejectionOf,
  renderings,
  settledWithin,
  type Secret,
} from './secrets-support.js'

const RIGHT_KEY = `encKey-Q8Z3V1-${randomBytes(4).toString('hex')}`
const WRONG_KEY = `encKeyWrong-4RT7-${randomBytes(4).toString('hex')}`
const SECRETS: Secret[] = [
  { name: 'the encryptionKey the file was written with', value: RIGHT_KEY },
  { name: 'the (wrong) encryptionKey configured', value: WRONG_KEY },
]

const tmp = tempDir('lazydb-secrets-enc-')
const encrypted = tmp.file('encrypted.db')
const registries: Registry[] = []
const open = (url: string, options: { encryptionKey?: string }, hookErrors: unknown[] = []) => {
  const registry = new Registry({
    database: libsql(url, options),
    on: { error: (error) => void hookErrors.push(error) },
    retry: QUICK_RETRY,
    warn: false,
  })
  registries.push(registry)
  return registry
}

beforeAll(async () => {
  const writer = open(`file:${encrypted}`, { encryptionKey: RIGHT_KEY })
  await settledWithin(
    writer.database.batch([
      { text: 'create table notes (id integer primary key, body text)' },
      { text: "insert into notes (body) values ('hello')" },
    ]),
    5000,
    'writing the encrypted file',
  )
  await writer.disconnect()
})

afterAll(async () => {
  await Promise.all(registries.map((r) => r.disconnect({ force: true })))
  tmp.remove()
})

/** Runs a failing statement and returns every error it produced: the rejection and the hook's. */
async function failure(url: string, options: { encryptionKey?: string }): Promise<unknown[]> {
  const hookErrors: unknown[] = []
  const registry = open(url, options, hookErrors)
  const query = registry.database.query('select body from notes')
  const error = await rejectionOf(query, 5000, 'query on an unreadable database')
  expect(error).toBeInstanceOf(LazyDbError)
  const connecting = registry.connect().then(
    () => undefined,
    (e: unknown) => e,
  )
  const connectError = await settledWithin(connecting, 5000, 'connect()')
  return [error, ...(connectError === undefined ? [] : [connectError]), ...hookErrors]
}

describe('libSQL encryptionKey on real failure paths', () => {
  it('the file opened with the wrong key: the error shows neither key', async () => {
    const errors = await failure(`file:${encrypted}`, { encryptionKey: WRONG_KEY })
    expectNoLeaks(errors.flatMap((e, i) => leaks(`error #${i}`, errorRenderings(e), SECRETS)))
  })

  it('the encrypted file opened with no key: the error shows no key', async () => {
    const errors = await failure(`file:${encrypted}`, {})
    expectNoLeaks(errors.flatMap((e, i) => leaks(`error #${i}`, errorRenderings(e), SECRETS)))
  })

  it('a path that cannot be opened as a database (a directory): the error shows no key', async () => {
    const directory = tmp.file('a-directory.db')
    mkdirSync(directory)
    const errors = await failure(`file:${directory}`, { encryptionKey: WRONG_KEY })
    expectNoLeaks(errors.flatMap((e, i) => leaks(`error #${i}`, errorRenderings(e), SECRETS)))
  })
})

describe('libSQL encryptionKey when lazydb objects are printed', () => {
  it('the registry, its database and the tx of a transaction print no key', async () => {
    const registry = open(`file:${encrypted}`, { encryptionKey: RIGHT_KEY })
    let txTexts: Array<[string, string]> = []
    const rows = await settledWithin(
      registry.database.transaction(async (tx) => {
        txTexts = renderings(tx)
        return (await tx.query('select body from notes')).rows
      }),
      5000,
      'transaction',
    )
    expect(rows).toEqual([{ body: 'hello' }].map((r) => expect.objectContaining(r)))
    expectNoLeaks([
      ...leaks('registry', renderings(registry), SECRETS),
      ...leaks('registry.database', renderings(registry.database), SECRETS),
      ...leaks('tx', txTexts, SECRETS),
    ])
  })
})
