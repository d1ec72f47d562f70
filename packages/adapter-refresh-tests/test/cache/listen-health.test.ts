/**
 * The token cache must not say it listens while it hears nothing, on real PostgreSQL 15 and a real
 * PgBouncer: a LISTEN pool behind a transaction-mode pooler, a trigger installed for another channel, a
 * disabled trigger, and a listening connection dropped silently (a loopback TCP proxy that stops
 * forwarding without closing). In each case `ready()` rejects or the cache reports unhealthy within the
 * heartbeat's bound, and a write made elsewhere is seen at once (the row is read, no stale token served).
 * Also: cache entries only under the user id as the database stores it ("7", not "007"), and keys that
 * ids holding a separator cannot make collide.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import * as net from "node:net"
import pg from "pg"
import { pgAccountStore, pgNotifyInvalidation, pgNotifyTriggerSql, withTokenSync } from "authjs-adapter-refresh"
import { applySchema, createPgFixture, type DatabaseFixture } from "../../src/fixtures/databases.js"
import { startPgBouncer, type StartedPgBouncer } from "../../src/harness/pgbouncer.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"

const PROVIDER = {
  id: "oidc",
  type: "oidc" as const,
  token: "https://issuer.invalid/token",
  clientId: "c",
  clientSecret: "s",
}
/** The heartbeat the tests run with, and the bound it gives: a broken path stops serving within 1.5 x of it. */
const HEARTBEAT_MS = 1_000
const BOUND_MS = 1.5 * HEARTBEAT_MS
/** Timer and event-loop slack on a shared 2-core machine. */
const SLACK_MS = 1_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A loopback TCP proxy to the server; `freeze()` stops forwarding both ways without closing anything. */
async function startFreezableProxy(target: URL) {
  const sockets = new Set<net.Socket>()
  let frozen = false
  const server = net.createServer((client) => {
    if (frozen) return client.destroy()
    const upstream = net.connect({ host: target.hostname, port: Number(target.port || 5432) })
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from)
      from.on("data", (chunk: Buffer) => {
        if (!frozen) to.write(chunk)
      })
      from.on("error", () => to.destroy())
      from.on("close", () => to.destroy())
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = new URL(target.toString())
  url.hostname = "127.0.0.1"
  url.port = String((server.address() as net.AddressInfo).port)
  return {
    url: url.toString(),
    /** Data in flight is dropped from now on; new connections are refused. */
    freeze: () => (frozen = true),
    async stop() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe("token cache health: listening that hears nothing is detected (pg 15, PgBouncer 1.18)", () => {
  let database: TestDatabase
  let fixture: DatabaseFixture<pg.Pool>
  let userId: string
  const closers: (() => Promise<unknown>)[] = []

  const setToken = (token: string, table = "accounts") =>
    fixture.pool.query(`UPDATE ${table} SET access_token = $1 WHERE provider = 'oidc'`, [token])
  const installTrigger = (channel?: string) =>
    fixture.pool.query(
      pgNotifyTriggerSql({ accountsTable: "accounts", sessionsTable: "sessions", ...(channel ? { channel } : {}) }),
    )

  /**
   * An adapter with the cache, its LISTEN connection from `listenUrl`, its heartbeat NOTIFY from the app's pool;
   * with `schema`, on that schema's copy of the accounts table.
   */
  function cachedAdapter(
    listenUrl: string,
    heartbeatMs: number | "default" = HEARTBEAT_MS,
    { listenMax = 1, notifyPool = true, schema }: { listenMax?: number; notifyPool?: boolean; schema?: string } = {},
  ) {
    const listenPool = new pg.Pool({
      connectionString: listenUrl,
      max: listenMax,
      application_name: "cache-health-listener",
    })
    listenPool.on("error", () => {})
    const db = schema ? pgAccountStore(fixture.pool, { accountsTable: `${schema}.accounts` }) : fixture.pool
    const adapter = withTokenSync(fixture.adapter, db, {
      refresh: {
        providers: [PROVIDER],
        cache: {
          invalidation: pgNotifyInvalidation({
            pool: listenPool,
            ...(notifyPool ? { notifyPool: fixture.pool } : {}),
            accountsTable: "accounts",
            ...(schema ? { schema } : { sessionsTable: "sessions" }),
            ...(heartbeatMs === "default" ? {} : { heartbeatMs }),
          }),
        },
      },
    })
    closers.push(async () => {
      await adapter.tokenCache!.close()
      // A pool whose connection sits behind a frozen proxy never ends: do not wait for it.
      void listenPool.end().catch(() => {})
    })
    return adapter
  }
  const token = async (adapter: ReturnType<typeof cachedAdapter>, asked = userId) =>
    (await adapter.getAccessToken({ userId: asked, provider: "oidc" })).accessToken

  /** After a write elsewhere, what the cache serves at once: the new token unless it serves a stale entry. */
  async function servedAfterWrite(adapter: ReturnType<typeof cachedAdapter>, label: string) {
    await setToken(`${label}-before`)
    await token(adapter)
    await token(adapter) // a second ask: from memory, if the cache serves
    await setToken(`${label}-after`)
    return token(adapter)
  }

  beforeAll(async () => {
    database = await testDatabase("token_cache_health")
    await applySchema("pg", database.url)
    fixture = await createPgFixture(database.url)
    userId = await fixture.insertUser("health@example.com")
    await fixture.pool.query(
      `INSERT INTO accounts ("userId", type, provider, "providerAccountId", access_token, expires_at, token_type)
       VALUES ($1, 'oidc', 'oidc', 'sub-1', 'token-0', extract(epoch from now())::bigint + 3600, 'bearer')`,
      [userId],
    )
    await installTrigger()
  }, 60_000)
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {})
    await fixture?.close()
    await database?.drop()
  })

  test("healthy: a direct listening connection is ready, serves from memory, and hears a write", async () => {
    const adapter = cachedAdapter(database.url)
    await adapter.tokenCache!.ready(5_000)
    await setToken("healthy-1")
    // The write's own NOTIFY may drop the first entry: ask until one answer comes from memory.
    const served = Date.now() + 2_000
    while (adapter.tokenCache!.stats().hits === 0 && Date.now() < served) expect(await token(adapter)).toBe("healthy-1")
    expect(adapter.tokenCache!.stats().hits).toBeGreaterThan(0)
    await setToken("healthy-2")
    const deadline = Date.now() + 2_000
    while ((await token(adapter)) !== "healthy-2" && Date.now() < deadline) await sleep(10)
    expect(await token(adapter)).toBe("healthy-2")
  })

  test("without notifyPool the heartbeat takes a second connection of pool; a pool of one says so", async () => {
    const roomy = cachedAdapter(database.url, HEARTBEAT_MS, { listenMax: 2, notifyPool: false })
    await roomy.tokenCache!.ready(5_000)
    expect(roomy.tokenCache!.stats().listening).toBe(true)
    const single = cachedAdapter(database.url, HEARTBEAT_MS, { listenMax: 1, notifyPool: false })
    await expect(single.tokenCache!.ready(5_000)).rejects.toThrow(/pool has no second connection for it/)
    expect(await servedAfterWrite(single, "single")).toBe("single-after")
  })

  describe("PgBouncer in transaction mode in front of the LISTEN pool", () => {
    let bouncer: StartedPgBouncer
    beforeAll(async () => {
      bouncer = await startPgBouncer({ upstreamUrl: database.url, poolMode: "transaction" })
    }, 660_000)
    afterAll(async () => {
      await bouncer?.stop()
    })

    test("ready() rejects (the heartbeat is not heard) and no stale token is served", async () => {
      expect(bouncer.version).toMatch(/^PgBouncer 1\.18/)
      const adapter = cachedAdapter(bouncer.url)
      await expect(adapter.tokenCache!.ready(5_000)).rejects.toThrow(
        /not heard on the listening one.*transaction-mode one such as PgBouncer/,
      )
      expect(await servedAfterWrite(adapter, "bouncer")).toBe("bouncer-after")
      expect(adapter.tokenCache!.stats()).toMatchObject({ listening: false, hits: 0 })
    })

    test("control: the same PgBouncer in session mode is fine", async () => {
      const session = await startPgBouncer({ upstreamUrl: database.url, poolMode: "session" })
      closers.push(() => session.stop())
      const adapter = cachedAdapter(session.url)
      await adapter.tokenCache!.ready(5_000)
      expect(adapter.tokenCache!.stats().listening).toBe(true)
    })
  })

  test("a trigger installed for another channel: ready() rejects, no stale token", async () => {
    await installTrigger("another_channel")
    try {
      const adapter = cachedAdapter(database.url)
      await expect(adapter.tokenCache!.ready(5_000)).rejects.toThrow(/trigger for another channel, column or function/)
      expect(await servedAfterWrite(adapter, "channel")).toBe("channel-after")
      expect(adapter.tokenCache!.stats()).toMatchObject({ listening: false, hits: 0 })
    } finally {
      await installTrigger()
    }
  })

  test("a disabled trigger: ready() rejects; disabled while listening: unhealthy within the bound", async () => {
    await fixture.pool.query("ALTER TABLE accounts DISABLE TRIGGER authjs_token_cache_notify")
    try {
      const adapter = cachedAdapter(database.url)
      await expect(adapter.tokenCache!.ready(5_000)).rejects.toThrow(/trigger disabled/)
      expect(await servedAfterWrite(adapter, "disabled")).toBe("disabled-after")
      expect(adapter.tokenCache!.stats()).toMatchObject({ listening: false, hits: 0 })
    } finally {
      await fixture.pool.query("ALTER TABLE accounts ENABLE TRIGGER authjs_token_cache_notify")
    }

    const adapter = cachedAdapter(database.url)
    await adapter.tokenCache!.ready(5_000)
    await token(adapter)
    await fixture.pool.query("ALTER TABLE accounts DISABLE TRIGGER authjs_token_cache_notify")
    const disabledAt = performance.now()
    try {
      while (adapter.tokenCache!.stats().listening && performance.now() - disabledAt < BOUND_MS + 2_000) await sleep(10)
      expect(adapter.tokenCache!.stats().listening).toBe(false)
      expect(performance.now() - disabledAt).toBeLessThan(BOUND_MS + SLACK_MS)
      await setToken("disabled-later")
      expect(await token(adapter)).toBe("disabled-later")
      await expect(adapter.tokenCache!.ready(1_000)).rejects.toThrow(/trigger disabled/)
    } finally {
      await fixture.pool.query("ALTER TABLE accounts ENABLE TRIGGER authjs_token_cache_notify")
    }
  })

  test("a connection dropped silently (a proxy stops forwarding): unhealthy within 1.5 x heartbeatMs", async () => {
    const proxy = await startFreezableProxy(new URL(database.url))
    closers.push(() => proxy.stop())
    // The default heartbeat (2 s): what users get without setting it.
    const defaultBoundMs = 1.5 * 2_000
    const adapter = cachedAdapter(proxy.url, "default")
    await adapter.tokenCache!.ready(5_000)
    await setToken("cut-before")
    await token(adapter)
    expect(await token(adapter)).toBe("cut-before")
    proxy.freeze()
    const frozenAt = performance.now()
    while (adapter.tokenCache!.stats().listening && performance.now() - frozenAt < defaultBoundMs + 5_000)
      await sleep(10)
    const detectedMs = performance.now() - frozenAt
    expect(adapter.tokenCache!.stats().listening).toBe(false)
    expect(detectedMs).toBeLessThan(defaultBoundMs + SLACK_MS)
    await setToken("cut-after")
    expect(await token(adapter)).toBe("cut-after")
  })

  test('entries only under the id as the database stores it: "007" for 7 is answered, never cached', async () => {
    const adapter = cachedAdapter(database.url)
    await adapter.tokenCache!.ready(5_000)
    const padded = `00${userId}`
    await setToken("padded-1")
    // Both spellings find the row (the column is an integer).
    expect(await token(adapter, padded)).toBe("padded-1")
    expect(await token(adapter, padded)).toBe("padded-1")
    expect(await token(adapter)).toBe("padded-1")
    expect(await token(adapter)).toBe("padded-1")
    // The trigger names "7": wait until the canonical entry has heard the write, then ask as "007".
    await setToken("padded-2")
    const deadline = Date.now() + 2_000
    while ((await token(adapter)) !== "padded-2" && Date.now() < deadline) await sleep(10)
    expect(await token(adapter)).toBe("padded-2")
    expect(await token(adapter, padded)).toBe("padded-2")
  })

  test("entries only under the stored id: an upper-case UUID is answered, never cached", async () => {
    // A copy of the accounts table with uuid user ids (as the Kysely and Prisma-on-uuid schemas have).
    await fixture.pool.query(`CREATE SCHEMA IF NOT EXISTS uuids`)
    await fixture.pool.query(`CREATE TABLE IF NOT EXISTS uuids.accounts (LIKE public.accounts INCLUDING ALL)`)
    await fixture.pool.query(`ALTER TABLE uuids.accounts ALTER COLUMN "userId" TYPE uuid USING NULL`)
    await fixture.pool.query(pgNotifyTriggerSql({ accountsTable: "accounts", schema: "uuids" }))
    const stored = "6f1c2a3e-5b4d-4c8e-9a7f-0123456789ab"
    await fixture.pool.query(
      `INSERT INTO uuids.accounts ("userId", type, provider, "providerAccountId", access_token, expires_at)
       VALUES ($1, 'oidc', 'oidc', 'uuid-sub', 'uuid-1', extract(epoch from now())::bigint + 3600)`,
      [stored],
    )
    const adapter = cachedAdapter(database.url, "default", { schema: "uuids" })
    await adapter.tokenCache!.ready(5_000)
    const ask = async (who: string) => (await adapter.getAccessToken({ userId: who, provider: "oidc" })).accessToken
    const upper = stored.toUpperCase()
    expect(await ask(upper)).toBe("uuid-1")
    expect(await ask(upper)).toBe("uuid-1")
    expect(await ask(stored)).toBe("uuid-1")
    await fixture.pool.query(`UPDATE uuids.accounts SET access_token = 'uuid-2'`)
    // The trigger names the lower-case form: once that entry has heard the write, ask in upper case.
    const deadline = Date.now() + 2_000
    while ((await ask(stored)) !== "uuid-2" && Date.now() < deadline) await sleep(10)
    expect(await ask(stored)).toBe("uuid-2")
    expect(await ask(upper)).toBe("uuid-2")
  })

  test("crafted ids holding the key separator do not get another user's cached token", async () => {
    // A copy of the accounts table whose user ids are text, so an id can hold any character.
    await fixture.pool.query(`CREATE SCHEMA IF NOT EXISTS crafted`)
    await fixture.pool.query(`CREATE TABLE IF NOT EXISTS crafted.accounts (LIKE public.accounts INCLUDING ALL)`)
    await fixture.pool.query(`ALTER TABLE crafted.accounts ALTER COLUMN "userId" TYPE text`)
    await fixture.pool.query(pgNotifyTriggerSql({ accountsTable: "accounts", schema: "crafted" }))
    const alice = "alice"
    const mallory = "alice\u001foidc\u001fx"
    const insert = `INSERT INTO crafted.accounts
      ("userId", type, provider, "providerAccountId", access_token, expires_at)
      VALUES ($1, 'oidc', 'oidc', $2, $3, extract(epoch from now())::bigint + 3600)`
    await fixture.pool.query(insert, [alice, "x\u001foidc\u001f", "alice-token"])
    await fixture.pool.query(insert, [mallory, "mallory-sub", "mallory-token"])
    const adapter = cachedAdapter(database.url, "default", { schema: "crafted" })
    await adapter.tokenCache!.ready(5_000)
    const ask = (who: string, providerAccountId?: string) =>
      adapter.getAccessToken({ userId: who, provider: "oidc", ...(providerAccountId ? { providerAccountId } : {}) })
    expect((await ask(alice, "x\u001foidc\u001f")).accessToken).toBe("alice-token")
    expect(adapter.tokenCache!.stats().entries).toBe(1)
    // Joined with the separator, this question's key was the cached entry's key.
    expect((await ask(mallory)).accessToken).toBe("mallory-token")
    expect((await ask(mallory)).accessToken).toBe("mallory-token")
  })
})
