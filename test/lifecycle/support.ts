// Shared by the lifecycle regression tests: deadlines, so a hang fails fast instead of stalling the run.

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export type Settled<T> =
  | { status: 'fulfilled'; value: T }
  | { status: 'rejected'; reason: unknown }
  | { status: 'pending' }

/** How `promise` settled within `ms`, or 'pending' if it had not by then. Never throws. */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<Settled<T>>((resolve) => (timer = setTimeout(resolve, ms, { status: 'pending' })))
  const outcome = promise.then(
    (value): Settled<T> => ({ status: 'fulfilled', value }),
    (reason: unknown): Settled<T> => ({ status: 'rejected', reason }),
  )
  try {
    return await Promise.race([outcome, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** The value `promise` resolves to within `ms`; throws (failing the test) if it rejects or is still pending. */
export async function within<T>(promise: Promise<T>, ms: number, what = 'the operation'): Promise<T> {
  const settled = await settledWithin(promise, ms)
  if (settled.status === 'fulfilled') return settled.value
  if (settled.status === 'pending') throw new Error(`${what} was still pending after ${ms} ms`)
  throw settled.reason
}

/** The reason `promise` rejects with within `ms`; throws (failing the test) if it resolves or is still pending. */
export async function rejectionWithin(promise: Promise<unknown>, ms: number, what = 'the operation'): Promise<unknown> {
  const settled = await settledWithin(promise, ms)
  if (settled.status === 'rejected') return settled.reason
  if (settled.status === 'pending') throw new Error(`${what} was still pending after ${ms} ms (expected it to reject)`)
  throw new Error(`${what} resolved (expected it to reject) with ${JSON.stringify(settled.value)}`)
}
