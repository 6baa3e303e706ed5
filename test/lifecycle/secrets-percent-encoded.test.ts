// Pins down: a password written percent-encoded in the URL is masked in every spelling a server or
// driver may echo: as written, decoded, and re-encoded canonically (upper-case hex) — in db.url, in
// a neon-http connect error that echoes it, and in a PlanetScale 401 that echoes the Basic header.
// Short passwords ('q' as %71, 'Zx' as %5A%78) are included: decoded they are one or two characters.
import { randomBytes } from 'node:crypto'
import util from 'node:util'
import { describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { exposed } from '../support/exposed.js'
import {
  QUICK_RETRY,
  expectNoLeaks,
  leaks,
  messageTexts,
  neonRejectingFetch,
  rejectionOf,
  standaloneLeaks,
  type Secret,
} from './secrets-support.js'

const RUN = randomBytes(4).toString('hex')
/** encodeURIComponent with lower-case hex, as some users and tools write it. */
const lowerHex = (text: string) => encodeURIComponent(text).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())

interface Case {
  label: string
  decoded: string
  /** As written in the URL. */
  written: string
  /** Short secrets are matched as whole tokens only. */
  short: boolean
}

const CASES: Case[] = [
  { label: '"q" written as %71', decoded: 'q', written: '%71', short: true },
  { label: '"Zx" written as %5A%78', decoded: 'Zx', written: '%5A%78', short: true },
  {
    label: 'a password with @ : / # written in lower-case hex',
    decoded: `Pw@9f:3k/2LQ#x-${RUN}`,
    written: lowerHex(`Pw@9f:3k/2LQ#x-${RUN}`),
    short: false,
  },
]

const spellings = (c: Case): Secret[] => {
  const all = new Map<string, string>()
  const forms = [
    [c.written, 'as written'],
    [c.decoded, 'decoded'],
    [encodeURIComponent(c.decoded), 're-encoded'],
  ] as const
  for (const [value, how] of forms) if (!all.has(value)) all.set(value, how)
  return [...all].map(([value, how]) => ({ name: `password ${how}`, value }))
}
const found = (c: Case, label: string, texts: Array<[string, string]>) =>
  c.short ? standaloneLeaks(label, texts, spellings(c)) : leaks(label, texts, spellings(c))

describe('db.url with a percent-encoded password', () => {
  it.each(CASES.map((c) => [c.label, c] as const))('%s: masked in every spelling', (_label, c) => {
    const urls = [
      `postgres://postgres:${c.written}@ep-enc.neon.tech/test`,
      `mysql://app:${c.written}@aws.connect.psdb.cloud/app`,
    ]
    for (const url of urls) {
      const shown = new Registry({ database: url, warn: false }).database.url
      expectNoLeaks(found(c, `db.url of ${url.split(':')[0]}`, [['db.url', shown]]))
      expect(shown, 'host and path are kept').toContain(`@${url.split('@')[1]!}`)
    }
  })
})

describe('a neon-http connect error echoing a percent-encoded password', () => {
  it.each(CASES.map((c) => [c.label, c] as const))('%s: masked in every spelling', async (_label, c) => {
    const { fetchFunction, received } = neonRejectingFetch((got) => ({
      message:
        `password authentication failed: got password "${c.decoded}" ` +
        `(sent as "${encodeURIComponent(c.decoded)}") in ${got.connectionString}`,
      code: '28P01',
      severity: 'FATAL',
      detail: `password=${c.decoded}`,
    }))
    const registry = new Registry({
      database: neon(`postgres://postgres:${c.written}@ep-enc.neon.tech/test`, {
        fetchEndpoint: 'http://127.0.0.1:9/sql',
        fetchFunction,
      }),
      retry: QUICK_RETRY,
      warn: false,
    })
    try {
      const error = await rejectionOf(registry.database.query('select 1'), 5000, 'query against the rejecting endpoint')
      expect(received).toHaveLength(1)
      expect(error).toBeInstanceOf(LazyDbError)
      const texts = c.short ? messageTexts(error) : [['exposed()', exposed(error)] as [string, string]]
      expectNoLeaks(found(c, 'the LazyDbError', texts))
    } finally {
      await registry.disconnect({ force: true })
    }
  })
})

describe('a PlanetScale 401 echoing the Basic header of a percent-encoded password', () => {
  it.each(CASES.map((c) => [c.label, c] as const))('%s: no base64 credential in the error', async (_label, c) => {
    const seen: string[] = []
    const fetchEcho = async (_input: unknown, init?: { headers?: Record<string, string> }) => {
      const auth = new Headers(init?.headers).get('authorization') ?? ''
      seen.push(auth)
      const body = { code: 'unauthenticated', message: `invalid credentials in "${auth}"` }
      return new Response(JSON.stringify(body), { status: 401 })
    }
    const registry = new Registry({
      database: planetscale(`mysql://app:${c.written}@aws.connect.psdb.cloud/app`, {
        fetch: fetchEcho as unknown as typeof fetch,
      }),
      retry: QUICK_RETRY,
      warn: false,
    })
    try {
      const error = await rejectionOf(registry.database.query('select 1'), 5000, 'query against the 401 endpoint')
      expect(seen).toHaveLength(1)
      expect(error).toBeInstanceOf(LazyDbError)
      const basic = (password: string) => Buffer.from(`app:${password}`).toString('base64')
      const passwords = new Set([c.written, c.decoded, encodeURIComponent(c.decoded)])
      const secrets: Secret[] = [...passwords].map((p) => ({ name: `base64(app:${p})`, value: basic(p) }))
      const texts: Array<[string, string]> = [
        ['exposed()', exposed(error)],
        ['util.inspect depth 10', util.inspect(error, { depth: 10, showHidden: true })],
      ]
      expectNoLeaks(leaks('the LazyDbError', texts, secrets))
    } finally {
      await registry.disconnect({ force: true })
    }
  })
})
