// A failed libSQL batch says its error code once: the message of a unique violation in batch() reads
// like the one from query(), not 'SQLITE_CONSTRAINT: SQLITE_CONSTRAINT: …' (embedded file and over HTTP).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import '@lazydb/core/libsql'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import { tempDir } from '../support/tmp.js'
import { rejectionWithin, settledWithin } from './support.js'

const tmp = tempDir('lazydb-batch-message-')
let gateway: HranaGateway
beforeAll(async () => {
  gateway = await startHranaGateway({ file: tmp.file('remote.db') })
})
afterAll(async () => {
  await gateway?.close()
  tmp.remove()
})

describe.each([
  ['embedded file', () => `file:${tmp.file('embedded.db')}`],
  ['over HTTP', () => gateway.url],
])('a failed libSQL batch (%s)', (_label, url) => {
  it('names the error code once', async () => {
    const registry = new Registry({ database: url(), platform: 'node', warn: false })
    const db = registry.database
    try {
      await db.query('create table people (id integer primary key, email text unique not null)')
      const error = await rejectionWithin(
        db.batch([
          { text: 'insert into people (email) values (?)', params: ['a@example.test'] },
          { text: 'insert into people (email) values (?)', params: ['a@example.test'] },
        ]),
        5000,
        'the failing batch',
      )
      expect(error).toBeInstanceOf(LazyDbError)
      const { code, message } = error as LazyDbError
      expect(code).toBe('QUERY_FAILED')
      expect(message).toMatch(/UNIQUE constraint failed/)
      expect(message, 'the code is not repeated').not.toMatch(/(SQLITE_[A-Z_]+): \1\b/)
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 5000)
    }
  })
})
