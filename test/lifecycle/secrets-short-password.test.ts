// Pins down: a password of one or two characters ('q', 'Zx') is still a secret. db.url masks it,
// and a connect error whose server echoes it (a neon-http endpoint answering 400 with the password
// and the connection string it received) shows it nowhere as a token of its own. The masking stays
// at token boundaries: the rest of the message (words that merely contain the letters, such as
// "query" or "preZxpost") and of the URL is left as it was.
import { describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import '@lazydb/core/planetscale'
import {
  QUICK_RETRY,
  expectNoLeaks,
  messageTexts,
  neonRejectingFetch,
  rejectionOf,
  standaloneLeaks,
  standaloneOccurrences,
} from './secrets-support.js'

const PASSWORDS = ['q', 'Zx']
/** A token that contains the password without being it: must survive masking untouched. */
const lookalike = (password: string) => `pre${password}post`

describe('db.url with a short password', () => {
  const urls = (password: string) => [
    `postgres://postgres:${password}@ep-short.neon.tech/test?application_name=${lookalike(password)}`,
    `mysql://app:${password}@aws.connect.psdb.cloud/app?application_name=${lookalike(password)}`,
  ]
  const cases = PASSWORDS.flatMap((password) =>
    urls(password).map((url) => [password, url.split(':')[0]!, url] as const),
  )

  it.each(cases)('password %j in a %s URL is masked, the rest of the URL is kept', (password, _scheme, url) => {
    const shown = new Registry({ database: url, warn: false }).database.url
    const parsed = new URL(shown.replace(/^\w+:/, 'http:'))
    expect(parsed.password, shown).not.toBe(password)
    expect(parsed.password, 'some mask stands where the password was').not.toBe('')
    expect(standaloneOccurrences(shown, password), shown).toBe(0)
    expect(parsed.username).toBe(url.startsWith('postgres') ? 'postgres' : 'app')
    expect(parsed.hostname).toBe(new URL(url.replace(/^\w+:/, 'http:')).hostname)
    expect(parsed.searchParams.get('application_name')).toBe(lookalike(password))
  })
})

describe('a connect error in which the server echoes a short password', () => {
  it.each(PASSWORDS)('password %j is masked where it stands as a token, nothing else is changed', async (password) => {
    const url = `postgres://postgres:${password}@ep-short.neon.tech/test?application_name=${lookalike(password)}`
    const { fetchFunction, received } = neonRejectingFetch((got) => ({
      message:
        `password authentication failed for user "postgres" with password "${password}" ` +
        `(query sequence ${lookalike(password)}; connection ${got.connectionString})`,
      code: '28P01',
      severity: 'FATAL',
      detail: `password=${password} user=postgres`,
    }))
    const registry = new Registry({
      database: neon(url, { fetchEndpoint: 'http://127.0.0.1:9/sql', fetchFunction }),
      retry: QUICK_RETRY,
      warn: false,
    })
    try {
      const error = await rejectionOf(registry.database.query('select 1'), 5000, 'query against the rejecting endpoint')
      expect(received[0]?.connectionString).toContain(`:${password}@`)
      expect(error).toBeInstanceOf(LazyDbError)
      const message = (error as LazyDbError).message
      const secrets = [{ name: 'short password', value: password }]
      expectNoLeaks(standaloneLeaks('the LazyDbError', messageTexts(error), secrets))
      // Masking works on whole tokens only: the words around it are intact.
      expect(message).toContain('password authentication failed for user "postgres"')
      expect(message).toContain(`query sequence ${lookalike(password)}`)
      expect(message).toContain('ep-short.neon.tech/test')
    } finally {
      await registry.disconnect({ force: true })
    }
  })
})
