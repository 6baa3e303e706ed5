// Pins down: every credential-looking URL parameter is a secret, whatever its spelling or case
// (sslpassword, PASSWORD, authtoken, access_token, api-key, client_secret): db.url masks its value
// and keeps harmless parameters (sslmode=require, application_name) readable, and a connect error
// in which the server echoes the connection string does not show the value either.
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import { describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import '@lazydb/core/planetscale'
import { exposed } from '../support/exposed.js'
import { QUICK_RETRY, expectNoLeaks, leaks, neonRejectingFetch, rejectionOf } from './secrets-support.js'

const RUN = randomBytes(4).toString('hex')
const PARAMS = ['sslpassword', 'PASSWORD', 'authtoken', 'access_token', 'api-key', 'client_secret']
const secretValueFor = (param: string) => `v-${param.replace(/[^a-z]/gi, '').slice(0, 6)}-7HJ2Q9-${RUN}`
const withParam = (base: string, param: string) =>
  `${base}?sslmode=require&${param}=${secretValueFor(param)}&application_name=notes-api`

describe('db.url with a credential-looking parameter', () => {
  const bases = [
    ['postgres', 'postgres://postgres:Pw-9f3k2LQ@ep-secrets-params.neon.tech/test'],
    ['mysql', 'mysql://user:Pw-9f3k2LQ@aws.connect.psdb.cloud/app'],
  ] as const
  const cases = bases.flatMap(([scheme, base]) =>
    PARAMS.map((param) => [scheme, param, withParam(base, param)] as const),
  )

  it.each(cases)('%s URL, ?%s=: the value is masked, harmless parameters stay', (_scheme, param, url) => {
    const db = new Registry({ database: url, warn: false }).database
    expect(db.url, `db.url for ?${param}=`).not.toContain(secretValueFor(param))
    expect(db.url).toContain('sslmode=require')
    expect(db.url).toContain('application_name=notes-api')
    // The host stays readable too.
    expect(new URL(db.url.replace(/^\w+:/, 'http:')).hostname).toBe(new URL(url.replace(/^\w+:/, 'http:')).hostname)
  })
})

describe('a connect error in which the server echoes the connection string', () => {
  it.each(PARAMS)('?%s= is masked in the error and its cause chain', async (param) => {
    const url = withParam('postgres://postgres:Pw-9f3k2LQ@ep-secrets-params.neon.tech/test', param)
    const { fetchFunction, received } = neonRejectingFetch((got) => ({
      message: `password authentication failed for connection "${got.connectionString}"`,
      code: '28P01',
      severity: 'FATAL',
      detail: `connection string: ${got.connectionString}`,
    }))
    const registry = new Registry({
      database: neon(url, { fetchEndpoint: 'http://127.0.0.1:9/sql', fetchFunction }),
      retry: QUICK_RETRY,
      warn: false,
    })
    try {
      const error = await rejectionOf(registry.database.query('select 1'), 5000, 'query against the rejecting endpoint')
      expect(received[0]?.connectionString).toContain(secretValueFor(param))
      expect(error).toBeInstanceOf(LazyDbError)
      const texts: Array<[string, string]> = [
        ['exposed()', exposed(error)],
        ['util.inspect depth 10', util.inspect(error, { depth: 10, showHidden: true })],
      ]
      expectNoLeaks(leaks('the LazyDbError', texts, [{ name: `?${param}= value`, value: secretValueFor(param) }]))
    } finally {
      await registry.disconnect({ force: true })
    }
  })
})
