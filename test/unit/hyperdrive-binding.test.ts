import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { Registry } from '@lazydb/core'

// A Hyperdrive binding as workerd hands it out: an object (not a plain config) with getters.
class FakeHyperdriveBinding {
  readonly #url: string
  constructor(url: string) {
    this.#url = url
  }
  get connectionString(): string {
    return this.#url
  }
}
const SECRET = 'hyperdrive-s3cret-pw'
const binding = new FakeHyperdriveBinding(`postgres://app:${SECRET}@1a2b3c.hyperdrive.local:5432/test?sslmode=disable`)

describe('a Hyperdrive binding is accepted wherever a URL is', () => {
  it('as the database, as { url }, and beside extras; it goes to a TCP driver and its password is masked', () => {
    const registry = new Registry({
      database: binding,
      extra: { withOptions: { url: binding, max: 3 } },
      platform: 'cloudflare',
      warn: false,
    })
    expect(registry.database.driver).toBe('pg')
    expect(registry.extra.withOptions.driver).toBe('pg')
    expect(registry.stats().databases.default).toMatchObject({ driver: 'pg', scope: 'request' })
    expect(registry.database.url).toBe('postgres://app:***@1a2b3c.hyperdrive.local:5432/test?sslmode=disable')
    expect(inspect(registry, { depth: 10 })).not.toContain(SECRET)
    expect(JSON.stringify(registry.stats())).not.toContain(SECRET)
  })

  it('Registry.fromEnv takes HYPERDRIVE (and HYPERDRIVE_<NAME>) when DATABASE_URL (_<NAME>) is unset', () => {
    const other = new FakeHyperdriveBinding('postgres://app:other-pw@9f9f.hyperdrive.local:5432/test')
    const registry = Registry.fromEnv({ HYPERDRIVE: binding, HYPERDRIVE_REPORTS: other }, { warn: false })
    expect(registry.database.url).toContain('1a2b3c.hyperdrive.local')
    expect(registry.extra.reports?.url).toBe('postgres://app:***@9f9f.hyperdrive.local:5432/test')
    const explicit = Registry.fromEnv({ HYPERDRIVE: binding, DATABASE_URL: 'file:.data/x.db' }, { warn: false })
    expect(explicit.database.driver).toBe('libsql')
    // A binding given as DATABASE_URL itself works too.
    expect(Registry.fromEnv({ DATABASE_URL: binding }, { warn: false }).database.driver).toBe('pg')
  })
})
