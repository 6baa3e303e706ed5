// The connect retry rules of retries.ts, pinned exactly (on a fake clock and a fixed Math.random where
// time or chance is involved):
// - the backoff: half the ceiling plus up to half again, the ceiling doubling per retry up to maxDelayMs;
// - no retry once `attempts` are used or `totalMs` has run out (reaching it exactly counts as out);
// - only a transient failure is retried; a LazyDbError from the driver is thrown as it is;
// - an attempt gets what is left of totalMs (at least 1 s), then fails as ETIMEDOUT; a client that
//   arrives after that is closed at once, never handed out.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type DriverClient, type DriverConfig, LazyDbError } from '@lazydb/core'
import {
  backoffDelay,
  type ConnectReport,
  connectWithRetry,
  retryDelay,
  type RetryPolicy,
  sleep,
} from '../../src/retries.js'

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  attempts: 10,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  totalMs: 5000,
  ...overrides,
})

describe('backoff', () => {
  it('is half the ceiling plus up to half again; the ceiling doubles per retry up to maxDelayMs', () => {
    const random = vi.spyOn(Math, 'random')
    random.mockReturnValue(0)
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, policy()))).toEqual([50, 100, 200, 400, 500])
    random.mockReturnValue(0.999999)
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, policy()))).toEqual([100, 200, 400, 800, 1000])
    random.mockReturnValue(0.5)
    expect(backoffDelay(1, policy())).toBe(75)
  })

  it('sleep waits the time it is given', async () => {
    const started = performance.now()
    await sleep(60)
    expect(performance.now() - started).toBeGreaterThanOrEqual(55)
  })
})

describe('retryDelay', () => {
  it('none once the attempts are used up', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const started = Date.now()
    expect(retryDelay(2, started, policy({ attempts: 3 }))).toBe(100)
    expect(retryDelay(3, started, policy({ attempts: 3 }))).toBeUndefined()
  })

  it('none once totalMs has run out, exactly at it included; the last delay is cut to what is left', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const now = 1_700_000_000_000
    vi.spyOn(Date, 'now').mockReturnValue(now)
    expect(retryDelay(1, now - 5000, policy())).toBeUndefined()
    expect(retryDelay(1, now - 4990, policy())).toBe(10)
  })
})

interface FakeAttempt {
  connecting: Promise<DriverClient>
}

function fakeClient(closes: boolean[]): DriverClient {
  return {
    raw: null,
    execute: async () => ({}),
    toResult: () => ({ rows: [], rowCount: 0, columns: [] }),
    batch: async () => [],
    begin: async () => {
      throw new Error('not used')
    },
    close: async (force) => {
      closes.push(force)
    },
  }
}

function harness(attempts: (n: number) => FakeAttempt, transient: (error: unknown) => boolean) {
  let n = 0
  const failed: { error: unknown; attempts: number }[] = []
  const pauses: number[] = []
  const driver = {
    name: 'planetscale' as const,
    connect: () => attempts(++n).connecting,
    classify: (error: unknown) => ({ transient: transient(error) }),
  }
  const report: ConnectReport & { pauseMs: number } = {
    pauseMs: 0,
    classify: (error) => driver.classify(error),
    pause: async (attempt) => {
      pauses.push(attempt)
      if (report.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, report.pauseMs))
    },
    failed: (error, made) => {
      failed.push({ error, attempts: made })
      return new LazyDbError('CONNECT_FAILED', 'scripted report', { cause: error })
    },
  }
  const config = {} as DriverConfig
  return { driver, report, config, failed, pauses, connects: () => n }
}

describe('connectWithRetry', () => {
  it('retries a transient failure until the attempts are used up, and reports the last one', async () => {
    const h = harness(
      () => ({ connecting: Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })) }),
      () => true,
    )
    const error = await connectWithRetry(h.driver, h.config, policy({ attempts: 3, baseDelayMs: 1 }), h.report).catch(
      (e: unknown) => e,
    )
    expect((error as LazyDbError).message).toBe('scripted report')
    expect(h.connects()).toBe(3)
    expect(h.pauses).toEqual([1, 2])
    expect(h.failed.map((f) => f.attempts)).toEqual([3])
  })

  it('does not retry a failure that is not transient', async () => {
    const h = harness(
      () => ({ connecting: Promise.reject(new Error('password authentication failed')) }),
      () => false,
    )
    await connectWithRetry(h.driver, h.config, policy(), h.report).catch(() => undefined)
    expect(h.connects()).toBe(1)
    expect(h.failed.map((f) => f.attempts)).toEqual([1])
  })

  it('throws a LazyDbError from the driver as it is, without retrying or reporting it', async () => {
    const own = new LazyDbError('CONFIG_INVALID', 'scripted driver refusal')
    const h = harness(
      () => ({ connecting: Promise.reject(own) }),
      () => true,
    )
    const error = await connectWithRetry(h.driver, h.config, policy(), h.report).catch((e: unknown) => e)
    expect(error).toBe(own)
    expect(h.connects()).toBe(1)
    expect(h.failed).toEqual([])
  })

  it('gives a later attempt what is left of totalMs, then fails it as ETIMEDOUT', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 })
    const h = harness(
      (n) => ({
        connecting: n === 1 ? Promise.reject(new Error('first attempt refused')) : new Promise<never>(() => undefined),
      }),
      (error) => (error as Error).message === 'first attempt refused',
    )
    // The first attempt fails at once; its pause takes 1500 ms of the 3000 ms total.
    h.report.pauseMs = 1500
    const connecting = connectWithRetry(h.driver, h.config, policy({ totalMs: 3000 }), h.report)
    connecting.catch(() => undefined)
    await vi.advanceTimersByTimeAsync(2999)
    expect(h.connects()).toBe(2)
    expect(h.failed, 'the second attempt is still within its 1500 ms').toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(h.failed).toHaveLength(1)
    const timeout = h.failed[0]!.error as Error & { code?: string }
    expect(timeout.message).toBe('connect ETIMEDOUT: no answer within 1500 ms')
    expect(timeout.code, 'the code the drivers’ classifiers read as a transient timeout').toBe('ETIMEDOUT')
  })

  it('closes, forced, a client that arrives after its attempt timed out', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 })
    const closes: boolean[] = []
    let arrive!: (client: DriverClient) => void
    const h = harness(
      () => ({ connecting: new Promise<DriverClient>((resolve) => (arrive = resolve)) }),
      () => false,
    )
    const connecting = connectWithRetry(h.driver, h.config, policy({ totalMs: 1000 }), h.report)
    connecting.catch(() => undefined)
    await vi.advanceTimersByTimeAsync(1000)
    expect(h.failed).toHaveLength(1)
    arrive(fakeClient(closes))
    await vi.advanceTimersByTimeAsync(0)
    expect(closes, 'the late client was closed').toEqual([true])
  })
})
