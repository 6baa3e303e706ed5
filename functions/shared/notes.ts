import type { Database, Registry } from '@lazydb/core'

/** The example app every platform deploys: a tiny notes API plus GET /stats. */
const schemaReady = new WeakMap<Database, Promise<unknown>>()

function ensureSchema(db: Database): Promise<unknown> {
  let ready = schemaReady.get(db)
  if (ready === undefined) {
    const ddl =
      db.driver === 'libsql'
        ? 'create table if not exists notes (id integer primary key autoincrement, body text not null, ' +
          'created_at text not null default current_timestamp)'
        : db.driver === 'planetscale'
          ? 'create table if not exists notes (id bigint auto_increment primary key, body text not null, ' +
            'created_at timestamp not null default current_timestamp)'
          : 'create table if not exists notes (id bigserial primary key, body text not null, ' +
            'created_at timestamptz not null default now())'
    ready = db.query(ddl).catch((error: unknown) => {
      schemaReady.delete(db)
      throw error
    })
    schemaReady.set(db, ready)
  }
  return ready
}

const placeholder = (db: Database) => (db.driver.startsWith('neon') ? '$1' : '?')

export async function notesApp(registry: Registry, request: Request): Promise<Response> {
  const { pathname } = new URL(request.url)
  const db = registry.database
  if (pathname === '/stats') return Response.json(registry.stats())
  if (pathname === '/notes' && request.method === 'GET') {
    await ensureSchema(db)
    const { rows } = await db.query('select id, body, created_at from notes order by id desc limit 50')
    return Response.json(rows)
  }
  if (pathname === '/notes' && request.method === 'POST') {
    const body = (await request.json().catch(() => null)) as { body?: unknown } | null
    if (typeof body?.body !== 'string' || body.body.trim() === '')
      return Response.json({ error: 'send JSON {"body": "…"}' }, { status: 400 })
    await ensureSchema(db)
    const result = await db.query(`insert into notes (body) values (${placeholder(db)})`, [body.body])
    return Response.json({ inserted: result.rowCount, id: result.lastInsertId ?? null }, { status: 201 })
  }
  if (pathname === '/') {
    return new Response(
      'lazydb demo\n' +
        '  GET  /notes        list notes\n' +
        '  POST /notes        add one: {"body": "…"}\n' +
        '  GET  /stats        registry.stats(): cold vs warm invocations, connects\n',
      { headers: { 'content-type': 'text/plain; charset=utf-8' } },
    )
  }
  return Response.json({ error: 'not found' }, { status: 404 })
}
