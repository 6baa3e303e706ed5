// Pins down: PlanetScale sends `Authorization: Basic base64(user:password)`; when a 401 reply echoes
// that header, the credential is masked in every form (the base64 text as well as the password)
// throughout the LazyDbError: exposed() (message, stack, fields, cause chain) and a deep
// util.inspect, whatever shape the reply has (Vitess-style error JSON, other JSON, plain text).
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import { describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { planetscale } from '@lazydb/core/planetscale'
import { exposed } from '../support/exposed.js'
import { QUICK_RETRY, expectNoLeaks, leaks, rejectionOf, type Secret } from './secrets-support.js'

const USER = 'app_user'
const PASSWORD = `Pw-9f3k2LQ-${randomBytes(4).toString('hex')}`
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')

type Body = (authorization: string) => string
const rejected = (authorization: string) => `invalid credentials in "${authorization}"`
const bodies: Array<[shape: string, body: Body]> = [
  [
    '{ error: { code, message } } JSON',
    (auth) => JSON.stringify({ error: { code: 'unauthenticated', message: rejected(auth) } }),
  ],
  ['{ code, message } JSON', (auth) => JSON.stringify({ code: 'unauthenticated', message: rejected(auth) })],
  ['plain text', (auth) => `401 Unauthorized: the credentials ${auth} are not valid`],
]

describe('a PlanetScale 401 that echoes the Authorization header', () => {
  it.each(bodies)('reply as %s: no base64 credential anywhere in the error', async (_shape, body) => {
    const seen: string[] = []
    const fetchEcho = async (_input: unknown, init?: { headers?: Record<string, string> }) => {
      const auth = new Headers(init?.headers).get('authorization') ?? ''
      seen.push(auth)
      const headers = { 'content-type': 'application/json' }
      return new Response(body(auth), { status: 401, statusText: 'Unauthorized', headers })
    }
    const hookErrors: unknown[] = []
    const registry = new Registry({
      database: planetscale(`mysql://${USER}:${PASSWORD}@aws.connect.psdb.cloud/app`, {
        fetch: fetchEcho as unknown as typeof fetch,
      }),
      on: { error: (error) => void hookErrors.push(error) },
      retry: QUICK_RETRY,
      warn: false,
    })
    try {
      const error = await rejectionOf(registry.database.query('select 1'), 5000, 'query against the 401 endpoint')
      expect(seen).toContain(`Basic ${BASIC}`)
      expect(error).toBeInstanceOf(LazyDbError)
      const secrets: Secret[] = [
        { name: 'base64(user:password)', value: BASIC },
        { name: 'password', value: PASSWORD },
      ]
      const texts = (e: unknown): Array<[string, string]> => [
        ['exposed()', exposed(e)],
        ['util.inspect depth 10 showHidden', util.inspect(e, { depth: 10, showHidden: true })],
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
