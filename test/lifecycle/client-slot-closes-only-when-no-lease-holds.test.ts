// A ClientSlot's own rules, driven directly with a fake client: a retired slot closes its client only
// once no hold is left (the last hold's release closes it, gracefully), a retire waits for `after`
// (an owner ending) but a forced one does not, a retire during a close in progress settles with that
// close and not before, a forced close during a connect rejects that connect with CLOSED and closes
// what it made, the first retire's reason is the one reported, and a connected slot never opens again.
import { describe, expect, it } from 'vitest'
import { ClientSlot } from '../../src/client-slot.js'
import { ClientClosedError, type DriverClient } from '../../src/drivers/contract.js'
import { deferred, fakeClient, flush, recordingCloser, stateOf } from './slot-support.js'

async function connectedSlot(hold = false) {
  const { calls, closer, release } = recordingCloser(hold)
  const slot = new ClientSlot(closer)
  const client = fakeClient()
  await slot.connect(async () => client)
  return { slot, client, calls, release }
}

describe('a ClientSlot closes its client only when no lease holds it', () => {
  it('keeps the client through a retire while holds remain; the last release closes it gracefully', async () => {
    const { slot, client, calls } = await connectedSlot()
    slot.take('hold')
    slot.take('hold')
    expect(slot.leased).toBe(true)
    // The retire's promise does not wait for holds (they may be the caller's own).
    expect(await stateOf(slot.retire('disconnect'))).toBe('fulfilled')
    expect(slot.retired).toBe(true)
    expect(calls).toEqual([])
    slot.release('hold')
    await flush()
    expect(calls, 'closed while a hold was left').toEqual([])
    expect(slot.client).toBe(client)
    slot.release('hold')
    await flush()
    expect(calls).toEqual([{ client, reason: 'disconnect', force: false }])
    expect(slot.client).toBeUndefined()
    expect(slot.leased).toBe(false)
  })

  it('leased is true while a statement or a hold is out, and only then', async () => {
    const { slot } = await connectedSlot()
    expect(slot.leased).toBe(false)
    slot.take('statement')
    expect(slot.leased).toBe(true)
    slot.release('statement')
    expect(slot.leased).toBe(false)
    slot.take('hold')
    expect(slot.leased).toBe(true)
    slot.release('hold')
    expect(slot.leased).toBe(false)
  })

  it('a retire with `after` closes only once `after` has settled', async () => {
    const { slot, client, calls } = await connectedSlot()
    const ownerEnded = deferred()
    const retired = slot.retire('disconnect', false, ownerEnded.promise)
    expect(await stateOf(retired)).toBe('pending')
    expect(calls, 'closed before the owner ended').toEqual([])
    ownerEnded.resolve()
    expect(await stateOf(retired)).toBe('fulfilled')
    expect(calls).toEqual([{ client, reason: 'disconnect', force: false }])
  })

  it('a forced retire closes at once with force, not waiting for `after` or a running statement', async () => {
    const { slot, client, calls } = await connectedSlot()
    const never = new Promise<void>(() => undefined)
    slot.take('statement')
    const graceful = slot.retire('disconnect', false, never)
    expect(await stateOf(graceful)).toBe('pending')
    const forced = slot.retire('disconnect', true)
    expect(await stateOf(forced)).toBe('fulfilled')
    expect(slot.forced).toBe(true)
    expect(calls).toEqual([{ client, reason: 'disconnect', force: true }])

    // Forced from the start, with an `after` that never settles.
    const other = await connectedSlot()
    expect(await stateOf(other.slot.retire('disconnect', true, never))).toBe('fulfilled')
    expect(other.calls).toEqual([{ client: other.client, reason: 'disconnect', force: true }])
  })

  it('a forced retire during a graceful close settles with that close, not before it', async () => {
    const { slot, client, calls, release } = await connectedSlot(true)
    const graceful = slot.retire('disconnect')
    await flush()
    expect(calls).toEqual([{ client, reason: 'disconnect', force: false }])
    const forced = slot.retire('disconnect', true)
    expect(await stateOf(forced), 'the forced retire settled while the close was still running').toBe('pending')
    release()
    expect(await stateOf(forced)).toBe('fulfilled')
    expect(await stateOf(graceful)).toBe('fulfilled')
    expect(calls).toHaveLength(1)
  })

  it('a retire waiting for `after` settles with a forced close that came meanwhile, not before it', async () => {
    const { slot, client, calls, release } = await connectedSlot(true)
    const ownerEnded = deferred()
    const graceful = slot.retire('disconnect', false, ownerEnded.promise)
    const forced = slot.retire('disconnect', true)
    await flush()
    expect(calls).toEqual([{ client, reason: 'disconnect', force: true }])
    ownerEnded.resolve()
    expect(await stateOf(graceful), 'the retire settled while the forced close was still running').toBe('pending')
    release()
    expect(await stateOf(graceful)).toBe('fulfilled')
    expect(await stateOf(forced)).toBe('fulfilled')
    expect(calls).toHaveLength(1)
  })

  it('a hold released during a forced close starts no second close; a later retire still waits for it', async () => {
    const { slot, client, calls, release } = await connectedSlot(true)
    slot.take('hold')
    expect(await stateOf(slot.retire('disconnect'))).toBe('fulfilled')
    const forced = slot.retire('disconnect', true)
    await flush()
    expect(calls).toEqual([{ client, reason: 'disconnect', force: true }])
    slot.release('hold')
    expect(await stateOf(slot.retire('disconnect')), 'settled while the forced close was still running').toBe('pending')
    release()
    expect(await stateOf(forced)).toBe('fulfilled')
    expect(calls).toHaveLength(1)
  })

  it('a forced close during a connect rejects it with CLOSED, closes what it made, and settles after it', async () => {
    const { calls, closer } = recordingCloser()
    const slot = new ClientSlot(closer)
    const open = deferred<DriverClient>()
    const client = fakeClient()
    slot.take('statement')
    const connecting = slot.connect(() => open.promise)
    const forced = slot.retire('disconnect', true)
    expect(await stateOf(forced), 'settled while the connect was still in flight').toBe('pending')
    open.resolve(client)
    await expect(connecting).rejects.toBeInstanceOf(ClientClosedError)
    slot.release('statement')
    expect(await stateOf(forced)).toBe('fulfilled')
    expect(calls).toEqual([{ client, reason: 'disconnect', force: true }])
    expect(slot.client).toBeUndefined()
  })

  it('reports the reason of the first retire, however many retires follow', async () => {
    const { slot, client, calls } = await connectedSlot()
    slot.take('statement')
    const idle = slot.retire('idle')
    const disconnect = slot.retire('disconnect')
    expect(slot.retired).toBe(true)
    slot.release('statement')
    expect(await stateOf(Promise.all([idle, disconnect]))).toBe('fulfilled')
    expect(calls).toEqual([{ client, reason: 'idle', force: false }])
  })

  it('a connected slot hands out its client without opening another', async () => {
    const { closer } = recordingCloser()
    const slot = new ClientSlot(closer)
    let opened = 0
    const open = async () => (opened++, fakeClient())
    const first = await slot.connect(open)
    const second = await slot.connect(open)
    expect(second).toBe(first)
    expect(opened).toBe(1)
  })
})
