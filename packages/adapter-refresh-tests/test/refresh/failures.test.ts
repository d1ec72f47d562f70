/**
 * getAccessToken's failures against a real rotating provider and real PostgreSQL: every failure typed,
 * nothing lost, no token in any error or log line.
 *
 * Provider faults (5xx, hang, malformed body, refused connection) are injected by a small HTTP proxy in
 * front of the real token endpoint; database faults by a real PostgreSQL trigger that raises.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from "@jest/globals"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { inspect } from "node:util"
import {
  AccountNotLinkedError,
  AmbiguousAccountError,
  getSessionAccessToken,
  ProviderUnavailableError,
  RefreshNotConfiguredError,
  RefreshPersistError,
  RefreshTokenError,
  withTokenSync,
  type RefreshOptions,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import { startRefreshScenario, type RefreshScenario } from "../../src/refresh-bench/scenario.js"

// ---------------------------------------------------------------------------------------------------
// Capture everything that could leak: thrown errors and console output.
// ---------------------------------------------------------------------------------------------------

const caught: unknown[] = []
const consoleLines: string[] = []
const spies: Array<{ mockRestore(): void }> = []
beforeEach(() => {
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[method]
    spies.push(
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        consoleLines.push(args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 10 }))).join(" "))
        original(...args)
      }),
    )
  }
})
afterEach(() => {
  while (spies.length) spies.pop()?.mockRestore()
})

async function expectThrows<E>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await promise
  } catch (error) {
    caught.push(error)
    expect(error).toBeInstanceOf(type)
    return error as E
  }
  throw new Error(`expected ${type.name}`)
}

// ---------------------------------------------------------------------------------------------------
// A fault-injecting proxy in front of the real token endpoint.
// ---------------------------------------------------------------------------------------------------

type Fault = "forward" | "503" | "500" | "hang" | "malformed"
interface FaultyProxy {
  url: string
  requests: number
  /** Faults to apply to the next requests, in order; then "forward". */
  faults: Fault[]
  stop(): Promise<void>
}

async function startFaultyProxy(target: string): Promise<FaultyProxy> {
  const hanging: ServerResponse[] = []
  const proxy: FaultyProxy = { url: "", requests: 0, faults: [], stop: async () => {} }
  const respond = async (req: IncomingMessage, res: ServerResponse) => {
    proxy.requests++
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const fault = proxy.faults.shift() ?? "forward"
    if (fault === "503") return void res.writeHead(503, { "content-type": "text/plain" }).end("unavailable")
    if (fault === "500") return void res.writeHead(500, { "content-type": "text/html" }).end("<h1>oops</h1>")
    if (fault === "hang") return void hanging.push(res)
    if (fault === "malformed")
      return void res.writeHead(200, { "content-type": "application/json" }).end(`{"hello":"world"}`)
    const headers: Record<string, string> = {}
    for (const name of ["authorization", "content-type", "accept"])
      if (req.headers[name]) headers[name] = String(req.headers[name])
    const upstream = await fetch(target, { method: "POST", headers, body: Buffer.concat(chunks) })
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" })
    res.end(Buffer.from(await upstream.arrayBuffer()))
  }
  // The real endpoint unreachable: the client sees a 502 (or a closed socket), not a request left hanging.
  const server: Server = createServer((req, res) => {
    respond(req, res).catch(() => (res.headersSent ? res.destroy() : res.writeHead(502).end()))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return proxy
}

// ---------------------------------------------------------------------------------------------------

const ACCOUNTS = "accounts"

describe("getAccessToken failures (pg, real oidc-provider with rotation)", () => {
  let db: TestDatabase
  let s: RefreshScenario
  let proxy: FaultyProxy

  beforeAll(async () => {
    db = await testDatabase("refresh_failures")
    s = await startRefreshScenario({
      cell: "pg",
      databaseUrl: db.url,
      login: "failures-user",
      skewSeconds: 0,
      provider: { accessTokenTtl: 2 },
      setupSql: `ALTER TABLE ${ACCOUNTS} ADD COLUMN refresh_error text`,
      refresh: { reauthColumn: "refresh_error" },
    })
    proxy = await startFaultyProxy(s.op.endpoints.token)
  }, 60_000)
  afterAll(async () => {
    await proxy?.stop()
    await s?.stop()
    await db?.drop()
    // No token value, nor the client secret, in any error (deeply inspected, JSON) or console line.
    const secrets = [...s.op.issued.map((t) => t.value), s.op.clientSecret]
    expect(caught.length).toBeGreaterThan(5)
    const haystacks = [
      ...caught.map((e) => inspect(e, { depth: 10, showHidden: true })),
      ...caught.map((e) => JSON.stringify(e)),
      ...caught.map((e) => `${(e as Error).message}\n${(e as Error).stack}`),
      ...consoleLines,
    ]
    for (const secret of secrets) for (const text of haystacks) expect(text.includes(secret)).toBe(false)
  })

  /** An adapter whose refresh requests go through the proxy (explicit token endpoint, no discovery). */
  function proxiedAdapter(refresh: Partial<RefreshOptions> = {}): TokenSyncAdapter {
    return withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ ...s.providerConfig, token: proxy.url }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        backoffMs: 10,
        reauthColumn: "refresh_error",
        ...refresh,
      },
    })
  }
  const ask = (adapter: TokenSyncAdapter) => adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })
  const tokensOf = async () => {
    const row = await s.row()
    return { access_token: row.access_token, refresh_token: row.refresh_token, expires_at: row.expires_at }
  }

  test("a fresh token is returned as stored, without calling the provider", async () => {
    const grants = s.op.stats.refreshGrants
    const result = await s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })
    expect(result.refreshed).toBe(false)
    expect(result.accessToken).toBe((await s.row()).access_token)
    expect(result.account.providerAccountId).toBe(s.key.providerAccountId)
    expect(s.op.stats.refreshGrants).toBe(grants)
  })
  test("[fault proxy: a real provider cannot be made to answer 503 on demand] 503 twice is retried with backoff (the grant was never processed), then succeeds", async () => {
    await s.waitForExpiry(0)
    const adapter = proxiedAdapter({ retries: 2 })
    const requests = proxy.requests
    const grants = s.op.stats.refreshGrants
    proxy.faults.push("503", "503")
    const result = await ask(adapter)
    expect(result.refreshed).toBe(true)
    expect(proxy.requests - requests).toBe(3)
    expect(s.op.stats.refreshGrants - grants).toBe(1)
    expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
  })
  test("[fault proxy in front of the real token endpoint] 500, a malformed body and a timeout are typed, NOT retried (the token may have rotated), stored tokens unchanged", async () => {
    await s.waitForExpiry(0)
    const adapter = proxiedAdapter({ retries: 2, requestTimeoutMs: 300 })
    const before = await tokensOf()
    for (const [fault, kind] of [
      ["500", "http_status"],
      ["malformed", "malformed_response"],
      ["hang", "timeout"],
    ] as const) {
      const requests = proxy.requests
      proxy.faults.push(fault)
      const error = await expectThrows(ask(adapter), ProviderUnavailableError)
      expect({ fault, kind: error.kind, code: error.code, attempts: error.attempts }).toEqual({
        fault,
        kind,
        code: "PROVIDER_UNAVAILABLE",
        attempts: 1,
      })
      expect(proxy.requests - requests).toBe(1)
      expect(await tokensOf()).toEqual(before)
    }
    // Nothing reached the provider, so the stored refresh token still works.
    const result = await ask(adapter)
    expect(result.refreshed).toBe(true)
  })

  test("a refused connection is retried (nothing was sent), then typed", async () => {
    await s.waitForExpiry(0)
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ ...s.providerConfig, token: `http://127.0.0.1:${port}/token` }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        retries: 2,
        backoffMs: 10,
      },
    })
    const error = await expectThrows(ask(adapter), ProviderUnavailableError)
    expect({ kind: error.kind, attempts: error.attempts }).toEqual({ kind: "network", attempts: 3 })
  })
  test("invalid_grant: RefreshTokenError, account marked (shared by every process), tokens kept; a new sign-in clears the mark", async () => {
    await s.waitForExpiry(0)
    const before = await tokensOf()
    const grantId = s.op.issuedOf("refresh_token").find((t) => t.value === before.refresh_token)?.grantId
    expect(grantId).toBeDefined()
    await s.op.revokeGrant(grantId!) // the user removed the app's access at the provider
    const errorsBefore = s.op.stats.refreshErrors.length

    const error = await expectThrows(
      s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider }),
      RefreshTokenError,
    )
    expect({ code: error.code, reason: error.reason }).toEqual({
      code: "REFRESH_INVALID_GRANT",
      reason: "invalid_grant",
    })
    expect(s.op.stats.refreshErrors.length - errorsBefore).toBe(1)
    const row = await s.row()
    expect(row.refresh_error).toBe("invalid_grant")
    expect(await tokensOf()).toEqual(before) // not wiped

    // Another adapter instance (as in another process) does not hammer the provider.
    const other = proxiedAdapter()
    const again = await expectThrows(ask(other), RefreshTokenError)
    expect(again.reason).toBe("marked")
    expect(s.op.stats.refreshErrors.length - errorsBefore).toBe(1)

    // What a session callback shows.
    expect(await getSessionAccessToken(s.adapter, { userId: s.userId, provider: s.key.provider })).toEqual({
      accessToken: null,
      expiresAt: null,
      error: "RefreshTokenError",
    })

    // The user signs in again: new tokens, the mark is cleared, refresh works again.
    const signIn = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
    expect(signIn.ok).toBe(true)
    expect((await s.row()).refresh_error).toBeNull()
    await s.waitForExpiry(0)
    const result = await s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })
    expect(result.refreshed).toBe(true)
    expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
  }, 30_000)
  test("the database write fails once after the provider rotated: the new tokens are retried in a fresh transaction, stored and working", async () => {
    await s.fixture.pool.query(`
      CREATE SEQUENCE IF NOT EXISTS refresh_fail_once;
      CREATE OR REPLACE FUNCTION refresh_fail_first_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- nextval is not rolled back with the failing transaction: this fails exactly once.
        IF nextval('refresh_fail_once') = 1 THEN
          RAISE EXCEPTION 'injected failure on UPDATE of the account row';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refresh_fail_first_update BEFORE UPDATE ON ${ACCOUNTS}
        FOR EACH ROW EXECUTE FUNCTION refresh_fail_first_update();`)
    try {
      await s.waitForExpiry(0)
      const grants = s.op.stats.refreshGrants
      const result = await s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })
      expect(result.refreshed).toBe(true)
      expect(
        Number((await s.fixture.pool.query("SELECT last_value FROM refresh_fail_once")).rows[0].last_value),
      ).toBeGreaterThanOrEqual(2)
      expect(s.op.stats.refreshGrants - grants).toBe(1)
      const row = await s.row()
      expect(row.access_token).toBe(s.op.lastIssued("access_token")?.value)
      expect(row.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
      expect(result.accessToken).toBe(row.access_token)
      expect((await s.op.userinfo(String(row.access_token))).status).toBe(200)
      expect((await s.op.refresh(String(row.refresh_token))).status).toBe(200)
    } finally {
      await s.fixture.pool.query(`DROP TRIGGER refresh_fail_first_update ON ${ACCOUNTS}`)
    }
    // That manual refresh rotated the token outside the library: sign in again to re-sync the row.
    expect((await s.app.signIn(s.browser, { login: s.login, forceLogin: true })).ok).toBe(true)
  }, 30_000)
  test("the database keeps failing: the caller still gets the new access token with a RefreshPersistError, the issued tokens stay in memory and the next call stores them without a new grant", async () => {
    await s.fixture.pool.query(`
      CREATE OR REPLACE FUNCTION refresh_fail_always() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure on UPDATE of the account row'; END $$;
      CREATE TRIGGER refresh_fail_always BEFORE UPDATE ON ${ACCOUNTS}
        FOR EACH ROW EXECUTE FUNCTION refresh_fail_always();`)
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [s.providerConfig],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        reauthColumn: "refresh_error",
      },
    })
    await s.waitForExpiry(0)
    const grants = s.op.stats.refreshGrants
    try {
      const first = await ask(adapter)
      expect(first.refreshed).toBe(true)
      expect(first.accessToken).toBe(s.op.lastIssued("access_token")?.value)
      expect(first.persistError).toBeInstanceOf(RefreshPersistError)
      caught.push(first.persistError)
      expect({
        code: first.persistError?.code,
        providerCalled: first.persistError?.providerCalled,
        sqlState: first.persistError?.sqlState,
      }).toEqual({
        code: "REFRESH_NOT_PERSISTED",
        providerCalled: true,
        sqlState: "P0001",
      })
    } finally {
      await s.fixture.pool.query(`DROP TRIGGER refresh_fail_always ON ${ACCOUNTS}`)
    }
    expect(s.op.stats.refreshGrants - grants).toBe(1)
    const result = await ask(adapter)
    expect(result.persistError).toBeUndefined()
    expect(s.op.stats.refreshGrants - grants).toBe(1) // no second grant: the kept tokens were written
    const row = await s.row()
    expect(row.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
    expect(result.accessToken).toBe(row.access_token)
    expect((await s.op.userinfo(String(row.access_token))).status).toBe(200)
  }, 30_000)

  test("typed look-up errors: not linked, ambiguous, not configured", async () => {
    await expectThrows(s.adapter.getAccessToken({ userId: s.userId, provider: "github" }), RefreshNotConfiguredError)
    const other = await s.fixture.insertUser("nobody@example.test")
    await expectThrows(s.adapter.getAccessToken({ userId: other, provider: s.key.provider }), AccountNotLinkedError)
    await expectThrows(
      s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider, providerAccountId: "someone-else" }),
      AccountNotLinkedError,
    )
    await s.adapter.syncAccount({
      ...s.key,
      providerAccountId: "second-account",
      userId: s.userId,
      type: "oidc",
      access_token: "x",
      expires_at: 4_000_000_000,
    })
    const ambiguous = await expectThrows(
      s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider }),
      AmbiguousAccountError,
    )
    expect(ambiguous.count).toBe(2)
    const chosen = await s.adapter.getAccessToken({
      userId: s.userId,
      provider: s.key.provider,
      providerAccountId: "second-account",
    })
    expect(chosen.accessToken).toBe("x")
    const bare = withTokenSync(s.fixture.adapter, s.fixture.db as object)
    await expectThrows(bare.getAccessToken({ userId: s.userId, provider: s.key.provider }), RefreshNotConfiguredError)
  })
})
