// What lazydb hands postgres.js for a database (src/drivers/postgres/options.ts), with no I/O: the pool sized
// per platform and behind Hyperdrive, idle_timeout in seconds, the application_name tag and who wins it,
// the user's own postgres.js options over lazydb's defaults, and bad values refused with CONFIG_INVALID.
import { describe, expect, it } from 'vitest'
import type { DriverConfig } from '../../src/drivers/contract.js'
import { checkPostgresOptions, postgresOptions } from '../../src/drivers/postgres/options.js'
import type { PlatformName } from '../../src/platform.js'
import { Secrets } from '../../src/secrets.js'
import type { Scope } from '../../src/types.js'

const URL = 'postgres://u:p@db.example.com:5432/app'

function config(
  options: Record<string, unknown> = {},
  lifetime?: { scope: Scope; platform: PlatformName },
  extra: Partial<DriverConfig> = {},
): DriverConfig {
  return { alias: 'main', driver: 'postgres', url: URL, options, secrets: new Secrets(['p']), lifetime, ...extra }
}

describe('postgres driver options', () => {
  it('sizes the pool per platform, at most 5 per request and behind Hyperdrive', () => {
    expect(postgresOptions(config({}, { scope: 'warm', platform: 'node' }))).toMatchObject({
      max: 10,
      idle_timeout: 10,
    })
    expect(postgresOptions(config({}, { scope: 'warm', platform: 'aws-lambda' }))).toMatchObject({ max: 2 })
    expect(postgresOptions(config({}, { scope: 'warm', platform: 'vercel-node' }))).toMatchObject({
      max: 10,
      idle_timeout: 5,
    })
    expect(postgresOptions(config({}, { scope: 'request', platform: 'cloudflare' }))).toMatchObject({ max: 5 })
    expect(postgresOptions(config({}, { scope: 'warm', platform: 'node' }, { hyperdrive: true }))).toMatchObject({
      max: 5,
    })
  })

  it("lets the user's own postgres.js options win over lazydb's defaults", () => {
    const options = postgresOptions(
      config({ max: 3, idle_timeout: 0, connect_timeout: 2, queue_timeout: 0, prepare: false, onnotice: console.log }),
    )
    expect(options).toMatchObject({ max: 3, idle_timeout: 0, connect_timeout: 2, queue_timeout: 0, prepare: false })
    expect(options.onnotice).toBe(console.log)
    expect(postgresOptions(config())).toMatchObject({ connect_timeout: 10, queue_timeout: 10, onnotice: false })
    expect(postgresOptions(config()).prepare).toBeUndefined() // postgres.js's own default (true)
  })

  it('tags connections: applicationName, else lazydb; the URL or connection.application_name wins', () => {
    expect(postgresOptions(config()).connection).toEqual({ application_name: 'lazydb' })
    const own = postgresOptions(config({ applicationName: 'billing' }))
    expect(own.connection).toEqual({ application_name: 'billing' })
    expect(own).not.toHaveProperty('applicationName') // lazydb's own option stays out of postgres.js
    const given = config({ applicationName: 'no', connection: { application_name: 'mine', TimeZone: 'UTC' } })
    expect(postgresOptions(given).connection).toEqual({ application_name: 'mine', TimeZone: 'UTC' })
    const byUrl = config({ applicationName: 'no' }, undefined, { url: `${URL}?sslmode=disable&application_name=u` })
    expect(postgresOptions(byUrl).connection).toEqual({})
  })

  it('refuses bad values with CONFIG_INVALID, never quoting them', () => {
    for (const bad of [
      { max: 0 },
      { max: 1.5 },
      { applicationName: '' },
      { applicationName: 'a\0b' },
      { idle_timeout: -1 },
      { connect_timeout: 'soon' },
      { prepare: 1 },
      { connection: 'x' },
    ]) {
      expect(() => checkPostgresOptions(config(bad)), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      )
    }
    expect(() => checkPostgresOptions(config({ max: 6 }, { scope: 'request', platform: 'cloudflare' }))).toThrow(
      /at most|above the 5/,
    )
    expect(() => checkPostgresOptions(config({ max: 5, prepare: false, types: {} }))).not.toThrow()
  })
})
