// A token given as a function (a Neon `authToken: () => token`, sync or async) is one option value,
// whichever Registry is given it: two Registries configured with the very same function share one
// warm client (the warm cache keys a function by identity, so a wrapper made anew per Registry gave
// each its own client, and a Registry built per invocation left a client per invocation). And the
// token that function returned is masked in the errors of BOTH Registries, whichever of them the
// shared client was created for.
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import { describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { neon, type NeonOptions } from '@lazydb/core/neon'
import { exposed } from '../support/exposed.js'
import { QUICK_RETRY, expectNoLeaks, leaks, rejectionOf, settledWithin, type Secret } from './secrets-support.js'

const URL = 'postgres://postgres:not-the-secret@ep-token-fn-shared.neon.tech/test'

/**
 * A Neon SQL-over-HTTP endpoint: `select 1` succeeds; any other statement is rejected with a
 * Postgres error that quotes the Authorization header it received.
 */
function echoingEndpoint() {
  const authorizations: Array<string | null> = []
  const fetchFunction = async (_input: string, init?: unknown) => {
    const { headers, body } = (init ?? {}) as { headers?: HeadersInit; body?: string }
    const authorization = new Headers(headers).get('authorization')
    authorizations.push(authorization)
    const query = String((JSON.parse(body ?? '{}') as { query?: unknown }).query)
    const reply =
      query === 'select 1'
        ? { status: 200, json: { command: 'SELECT', rowCount: 1, rowAsArray: true, rows: [['1']], fields: [field] } }
        : {
            status: 400,
            json: { message: `rejected credentials "${authorization}"`, code: '28P01', severity: 'FATAL' },
          }
    return new Response(JSON.stringify(reply.json), {
      status: reply.status,
      headers: { 'content-type': 'application/json' },
    })
  }
  return { fetchFunction, authorizations }
}

const field = {
  name: 'n',
  dataTypeID: 23,
  tableID: 0,
  columnID: 0,
  dataTypeSize: 4,
  dataTypeModifier: -1,
  format: 'text',
}

const cases: Array<[label: string, token: string, authToken: (token: string) => NeonOptions['authToken']]> = [
  ['a sync function', `fnTokSync-S4R3D-${randomBytes(4).toString('hex')}`, (token) => () => token],
  ['an async function', `fnTok-S4R3D-${randomBytes(4).toString('hex')}`, (token) => async () => token],
]

describe('two Registries given the same token function', () => {
  it.each(cases)('(%s) share one warm client, and both mask the token', async (_, token, authToken) => {
    const { fetchFunction, authorizations } = echoingEndpoint()
    const options: NeonOptions = { fetchEndpoint: 'http://127.0.0.1:9/sql', fetchFunction, authToken: authToken(token) }
    const registries = [0, 1].map(
      () => new Registry({ database: neon(URL, options), retry: QUICK_RETRY, platform: 'node', warn: false }),
    )
    const [first, second] = registries as [Registry, Registry]
    expect(first.stats().databases.default).toMatchObject({ driver: 'neon-http', scope: 'warm' })
    try {
      expect((await settledWithin(first.database.query('select 1'), 3000, 'the first query')).rows).toEqual([{ n: 1 }])
      expect((await settledWithin(second.database.query('select 1'), 3000, 'the second query')).rows).toEqual([
        { n: 1 },
      ])
      expect(authorizations).toEqual([`Bearer ${token}`, `Bearer ${token}`])
      // One client: the first Registry connected it; the second found it in the warm cache.
      expect(first.stats().databases.default).toMatchObject({ connects: 1 })
      expect(second.stats().databases.default, 'the second Registry connected a client of its own').toMatchObject({
        connects: 0,
      })

      // The endpoint echoes the token: neither Registry's error shows it.
      const secrets: Secret[] = [{ name: 'function token', value: token }]
      const found: string[] = []
      for (const [name, registry] of [
        ['first', first],
        ['second', second],
      ] as const) {
        const error = await rejectionOf(registry.database.query('select 2'), 3000, `the ${name} Registry's query`)
        expect(error).toBeInstanceOf(LazyDbError)
        expect(authorizations.at(-1)).toBe(`Bearer ${token}`) // the echo really holds the token
        expect((error as LazyDbError).message).toContain('rejected credentials "Bearer ***"')
        const texts: Array<[string, string]> = [
          ['exposed()', exposed(error)],
          ['util.inspect depth 10', util.inspect(error, { depth: 10, showHidden: true })],
        ]
        found.push(...leaks(`the ${name} Registry's error`, texts, secrets))
      }
      expectNoLeaks(found)
    } finally {
      for (const registry of registries) await registry.disconnect({ force: true })
    }
  })
})
