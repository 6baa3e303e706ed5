// Node's timers hold at most 2^31 − 1 ms; a longer delay is clamped to 1 ms (with a warning), so an idle
// timeout or handler deadline of 2^31 ms would fire almost at once. Such values are refused when they
// are given: idleTimeoutMs (registry-wide and per database) with CONFIG_INVALID at construction, and
// handler's timeoutMs with INVALID_ARGUMENT. 2^31 − 1 itself is accepted.
import { afterAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { tempDir } from '../support/tmp.js'

const TOO_LONG = 2 ** 31
const LONGEST = 2 ** 31 - 1
const tmp = tempDir('lazydb-timers-')
afterAll(() => tmp.remove())
const url = () => `file:${tmp.file('timers.db')}`

/** The error `fn` throws synchronously, or undefined when it throws nothing. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

function expectCode(error: unknown, code: string): void {
  const got = error === undefined ? 'no error' : String(error)
  expect(error, `expected a LazyDbError ${code}, got ${got}`).toBeInstanceOf(LazyDbError)
  expect((error as LazyDbError).code).toBe(code)
}

describe('timer values above 2^31 − 1 ms', () => {
  it('registry-wide idleTimeoutMs: 2^31 is CONFIG_INVALID at construction; 2^31 − 1 is accepted', () => {
    expectCode(
      thrownBy(() => new Registry({ database: url(), idleTimeoutMs: TOO_LONG })),
      'CONFIG_INVALID',
    )
    expect(() => new Registry({ database: url(), idleTimeoutMs: LONGEST, warn: false })).not.toThrow()
  })

  it('per-database idleTimeoutMs: 2^31 is CONFIG_INVALID at construction; 2^31 − 1 is accepted', () => {
    expectCode(
      thrownBy(() => new Registry({ database: { url: url(), idleTimeoutMs: TOO_LONG } })),
      'CONFIG_INVALID',
    )
    expectCode(
      thrownBy(() => new Registry({ database: libsql(url(), { idleTimeoutMs: TOO_LONG }) })),
      'CONFIG_INVALID',
    )
    expect(() => new Registry({ database: { url: url(), idleTimeoutMs: LONGEST }, warn: false })).not.toThrow()
    expect(() => new Registry({ database: libsql(url(), { idleTimeoutMs: LONGEST }), warn: false })).not.toThrow()
  })

  it("handler's timeoutMs: 2^31 is INVALID_ARGUMENT; 2^31 − 1 is accepted and does not fire early", async () => {
    const registry = new Registry({ database: url(), warn: false })
    expectCode(
      thrownBy(() => handler(registry, async () => 'done', { timeoutMs: TOO_LONG })),
      'INVALID_ARGUMENT',
    )
    // Clamped to 1 ms, as Node does with a longer timer, this 30 ms invocation would time out.
    const slow = handler(registry, async () => (await new Promise((r) => setTimeout(r, 30)), 'done'), {
      timeoutMs: LONGEST,
    })
    await expect(slow()).resolves.toBe('done')
    await registry.disconnect()
  })
})
