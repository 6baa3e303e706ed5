// Pins down: a Neon `authToken` given as a function (sync or async) is a secret like a string
// token. When the server echoes it back (here: a neon-http endpoint answering 400 with a Postgres
// error that quotes the Authorization header it received), the LazyDbError (message, stack, detail,
// the whole cause chain, and what the error hook receives) does not contain the token.
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import { describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { neon, type NeonOptions } from '@lazydb/core/neon'
import { exposed } from '../support/exposed.js'
import { QUICK_RETRY, expectNoLeaks, leaks, neonRejectingFetch, rejectionOf, type Secret } from './secrets-support.js'

const URL = 'postgres://postgres:not-the-secret@ep-secrets-fn.neon.tech/test'

const cases: Array<[label: string, token: string, authToken: (token: string) => NeonOptions['authToken']]> = [
  ['a sync function', `fnTokSync-51ZK8-${randomBytes(4).toString('hex')}`, (token) => () => token],
  ['an async function', `fnTok-51ZK8-${randomBytes(4).toString('hex')}`, (token) => async () => token],
]

describe('a Neon authToken function whose token the server echoes', () => {
  it.each(cases)('given as %s, the token is masked in the error and its cause chain', async (_, token, authToken) => {
    const { fetchFunction, received } = neonRejectingFetch((got) => ({
      message: `password authentication failed: rejected credentials "${got.authorization}"`,
      code: '28P01',
      severity: 'FATAL',
      detail: `the request carried Authorization: ${got.authorization}`,
      hint: `check the token ${got.authorization?.replace(/^Bearer /, '')}`,
    }))
    const hookErrors: unknown[] = []
    const registry = new Registry({
      database: neon(URL, { fetchEndpoint: 'http://127.0.0.1:9/sql', fetchFunction, authToken: authToken(token) }),
      on: { error: (error) => void hookErrors.push(error) },
      retry: QUICK_RETRY,
      warn: false,
    })
    try {
      const error = await rejectionOf(registry.database.query('select 1'), 5000, 'query against the rejecting endpoint')
      // The endpoint really got the token, so the echo holds it.
      expect(received.map((r) => r.authorization)).toContain(`Bearer ${token}`)
      expect(error).toBeInstanceOf(LazyDbError)
      const secrets: Secret[] = [{ name: 'function token', value: token }]
      const texts = (e: unknown): Array<[string, string]> => [
        ['exposed()', exposed(e)],
        ['util.inspect depth 10', util.inspect(e, { depth: 10, showHidden: true })],
      ]
      expectNoLeaks([
        ...leaks('the LazyDbError', texts(error), secrets),
        ...hookErrors.flatMap((e, i) => leaks(`on.error #${i}`, texts(e), secrets)),
      ])
    } finally {
      await registry.disconnect({ force: true })
    }
  })
})
