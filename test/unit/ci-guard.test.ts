// The guard every server-backed suite calls at load (`const pgUp = await requirePostgres()`): with
// CI=true a missing server throws, which fails the whole file; elsewhere it warns and the suite skips.
// Pointed at a closed loopback port and a socket path that does not exist.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { requireMariadb } from '../support/mariadb.js'
import { requirePostgres } from '../support/postgres.js'
import { closedPort } from '../support/ports.js'

describe('a suite whose server is missing', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
    vi.restoreAllMocks()
  })

  it('fails under CI=true, naming the server and how to start it', async () => {
    vi.stubEnv('CI', 'true')
    const port = await closedPort()
    await expect(requirePostgres(`postgres://postgres@127.0.0.1:${port}/test`)).rejects.toThrow(
      /PostgreSQL on 127\.0\.0\.1:\d+ .*required under CI.*pg_ctlcluster/,
    )
    await expect(requireMariadb({ socket: '/nonexistent/mysqld.sock', port })).rejects.toThrow(
      /MariaDB is required under CI.*mariadbd/,
    )
  })

  it('skips elsewhere, with a message naming what to start', async () => {
    vi.stubEnv('CI', '')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const port = await closedPort()
    await expect(requirePostgres(`postgres://postgres@127.0.0.1:${port}/test`)).resolves.toBe(false)
    await expect(requireMariadb({ socket: '/nonexistent/mysqld.sock', port })).resolves.toBe(false)
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/Skipping .*PostgreSQL.*pg_ctlcluster/),
      expect.stringMatching(/MariaDB is not running.*mariadbd/),
    ])
  })
})
