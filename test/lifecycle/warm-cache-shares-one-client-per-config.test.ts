// The process-wide cache of warm clients: one client per configuration, shared by every runtime and
// by every copy of lazydb loaded in the process, until it is retired. The key keeps distinct
// configurations apart (option order aside): functions and objects by identity, other values by
// value and type, so two databases whose options differ never share a client, and the same
// options given twice always do.
import { describe, expect, it } from 'vitest'
import type { DriverConfig } from '../../src/drivers/contract.js'
import { warmClientFor, warmKey } from '../../src/warm-cache.js'
import { WarmClient } from '../../src/warm-client.js'
import { recordingCloser } from './slot-support.js'

type WarmCacheModule = typeof import('../../src/warm-cache.js')

let n = 0
const key = () => `warm-cache-test-${process.pid}-${++n}`
const newClient = (k: string) => new WarmClient(k, false, 1000, recordingCloser().closer)
const keyOf = (options: Record<string, unknown>) =>
  warmKey({ driver: 'libsql', url: 'file:/tmp/x.db', options } as unknown as DriverConfig)

describe('the warm-client cache', () => {
  it('hands every caller the cached client until it is retired, then a new one', async () => {
    const k = key()
    let created = 0
    const create = () => (created++, newClient(k))
    const first = warmClientFor(k, create)
    expect(warmClientFor(k, create)).toBe(first)
    expect(created).toBe(1)
    await first.retire('disconnect')
    const second = warmClientFor(k, create)
    expect(second).not.toBe(first)
    expect(warmClientFor(k, create)).toBe(second)
    expect(created).toBe(2)
  })

  it('is shared by a second copy of the module loaded in the same process', async () => {
    const specifier = '../../src/warm-cache.js?second-copy'
    const copy = (await import(/* @vite-ignore */ specifier)) as WarmCacheModule
    expect(copy.warmClientFor, 'the import gave the same module instance').not.toBe(warmClientFor)
    const k = key()
    const mine = warmClientFor(k, () => newClient(k))
    expect(copy.warmClientFor(k, () => newClient(k))).toBe(mine)
  })
})

describe('warmKey', () => {
  it('does not depend on the order the options were given in', () => {
    expect(keyOf({ authToken: 't', intMode: 'number' })).toBe(keyOf({ intMode: 'number', authToken: 't' }))
  })

  it('tells functions and objects apart by identity, and gives the same one the same key', () => {
    const fetchA = async () => new Response()
    const fetchB = async () => new Response()
    expect(String(fetchA)).toBe(String(fetchB))
    expect(keyOf({ fetch: fetchA })).not.toBe(keyOf({ fetch: fetchB }))
    expect(keyOf({ fetch: fetchA })).toBe(keyOf({ fetch: fetchA }))
    const tlsA = {}
    const tlsB = {}
    expect(keyOf({ tls: tlsA })).not.toBe(keyOf({ tls: tlsB }))
    expect(keyOf({ tls: tlsA })).toBe(keyOf({ tls: tlsA }))
  })

  it('tells values of different types apart (1, "1", 1n, true, "true", null, "null", undefined)', () => {
    const values = [1, '1', 1n, true, 'true', null, 'null', undefined, 'undefined']
    const keys = values.map((value) => keyOf({ option: value }))
    expect(new Set(keys).size).toBe(values.length)
  })
})
