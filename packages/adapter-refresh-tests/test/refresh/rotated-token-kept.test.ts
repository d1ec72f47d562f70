/**
 * A rotated refresh token is never lost (issue 7, part 2), on real PostgreSQL and the real rotating
 * oidc-provider: once the provider has answered a refresh, its new refresh token is the only one that
 * works (reuse of the old one revokes the grant), so odd fields in the answer, a value the database
 * refuses, or an answer without a usable expiry must not throw it away nor make every later call refresh.
 *
 * oidc-provider cannot be configured to answer with malformed fields, so a real HTTP proxy in front of
 * its token endpoint rewrites the (real, already processed) answer; every test using it says so.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { inspect } from "node:util"
import {
  RefreshPersistError,
  withTokenSync,
  type AccessTokenResult,
  type RefreshOptions,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { startRewritingProxy, type RewritingProxy } from "../../src/harness/rewriting-proxy.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useRefreshScenario } from "./scenario-hooks.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** The id_token with one claim changed: well-formed, but oauth4webapi's claim validation refuses it. */
function withClaim(idToken: string, claim: string, value: unknown): string {
  const [header, payload, signature] = idToken.split(".")
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as Record<string, unknown>
  claims[claim] = value
  return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".")
}

describe("a rotated refresh token is never lost (pg, real oidc-provider with rotation)", () => {
  let s: RefreshScenario
  let proxy: RewritingProxy

  useRefreshScenario(
    "refresh_rotated_kept",
    { cell: "pg", login: "rotated-kept-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ s } = started)
    },
  )
  beforeAll(async () => {
    proxy = await startRewritingProxy(s.op.endpoints.token)
  })
  afterAll(async () => {
    await proxy?.stop()
  })

  /** An adapter whose refresh requests go through the proxy (explicit token endpoint, no discovery). */
  function proxiedAdapter(refresh: Partial<RefreshOptions> = {}): TokenSyncAdapter {
    return withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ ...s.providerConfig, token: proxy.url }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        ...refresh,
      },
    })
  }
  const ask = (adapter: TokenSyncAdapter) => adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })

  /** The stored tokens are the newest the provider issued, and both work. */
  async function expectNewestStoredAndWorking(result: AccessTokenResult): Promise<Record<string, unknown>> {
    const row = await s.row()
    expect(row.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
    expect(row.access_token).toBe(s.op.lastIssued("access_token")?.value)
    expect(result.accessToken).toBe(row.access_token)
    expect((await s.op.userinfo(String(row.access_token))).status).toBe(200)
    expect((await s.op.introspect(String(row.refresh_token), "refresh_token")).body.active).toBe(true)
    expect(s.op.stats.refreshErrors).toEqual([])
    expect(s.op.stats.grantsRevoked).toBe(0)
    return row
  }

  const ODD_ANSWERS: Array<[string, (body: Record<string, unknown>) => Record<string, unknown>, string[]]> = [
    ["a non-numeric expires_in", (b) => ({ ...b, expires_in: "soon" }), ["expires_in"]],
    ["a negative expires_in", (b) => ({ ...b, expires_in: -5 }), ["expires_in"]],
    [
      "an expires_at string instead of expires_in",
      ({ expires_in: _drop, ...b }) => ({ ...b, expires_at: "tomorrow" }),
      ["expires_at"],
    ],
    [
      "unknown extras (objects, arrays, odd names)",
      (b) => ({ ...b, "not-before-policy": { at: 0 }, refresh_expires_in: [1, 2], x_debug: null }),
      [],
    ],
    [
      "an id_token that fails validation (wrong audience)",
      (b) => ({ ...b, id_token: withClaim(String(b.id_token), "aud", "someone-else") }),
      ["id_token"],
    ],
    ["an id_token that is not a JWT", (b) => ({ ...b, id_token: "not-a-jwt" }), ["id_token"]],
    ["a NUL in scope (PostgreSQL text refuses it)", (b) => ({ ...b, scope: "openid\u0000offline_access" }), ["scope"]],
    [
      "a lone surrogate in token_type, no expiry at all",
      ({ expires_in: _drop, ...b }) => ({ ...b, token_type: "Bearer\uD800" }),
      ["token_type"],
    ],
  ]
  test("[rewriting proxy in front of the real token endpoint] each odd field is dropped, never a reason to throw the rotated refresh token away", async () => {
    // A 1 s floor: answers without a usable expiry count as fresh for 1 s, then are refreshed.
    const adapter = proxiedAdapter({ minRefreshIntervalSeconds: 1 })
    for (const [label, rewrite, dropped] of ODD_ANSWERS) {
      await s.waitForExpiry(0)
      const before = await s.row()
      const grants = s.op.stats.refreshGrants
      proxy.rewrite = (body, status) => (status === 200 ? rewrite(body) : undefined)
      let result: AccessTokenResult
      try {
        result = await ask(adapter)
      } finally {
        proxy.rewrite = undefined
      }
      expect({
        label,
        refreshed: result.refreshed,
        persistError: result.persistError,
        dropped: result.droppedFields ?? [],
      }).toEqual({
        label,
        refreshed: true,
        persistError: undefined,
        dropped,
      })
      expect({ label, grants: s.op.stats.refreshGrants - grants }).toEqual({ label, grants: 1 })
      const row = await expectNewestStoredAndWorking(result)
      if (dropped.includes("id_token")) expect(row.id_token).toBe(before.id_token) // the unvalidated one is not stored
      if (dropped.includes("scope")) expect(row.scope).toBe(before.scope)
      // Without a usable expiry the floor is stored: now + skew (0) + minRefreshIntervalSeconds (1).
      if (dropped.includes("expires_in") || dropped.includes("expires_at") || label.includes("no expiry")) {
        expect(Math.abs(Number(row.expires_at) - (nowSeconds() + 1))).toBeLessThanOrEqual(1)
      }
    }
  }, 60_000)

  const rewritingProxyFrontRealTitle2 =
    "[rewriting proxy in front of the real token endpoint] an absurd " +
    "expires_in is capped so that the value fits a 32-bit expires_at column"
  test(`${rewritingProxyFrontRealTitle2}`, async () => {
    await s.waitForExpiry(0)
    proxy.rewrite = (body, status) => (status === 200 ? { ...body, expires_in: 1e15 } : undefined)
    try {
      const result = await ask(proxiedAdapter())
      expect(result.refreshed).toBe(true)
      expect(result.persistError).toBeUndefined()
    } finally {
      proxy.rewrite = undefined
    }
    const row = await s.row()
    expect(Number(row.expires_at)).toBeLessThanOrEqual(2_147_483_647)
    expect(Number(row.expires_at)).toBeGreaterThan(nowSeconds() + 86_400)
    expect(row.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
    // Back to a normal expiry for the next tests: a real sign-in.
    expect((await s.app.signIn(s.browser, { login: s.login, forceLogin: true })).ok).toBe(true)
  }, 30_000)

  const rewritingProxyFrontRealTitle3 =
    "[rewriting proxy in front of the real token endpoint] expires_in: 0, or none: repeated " +
    "calls from two engines do not refresh each time, only after minRefreshIntervalSeconds"
  test(`${rewritingProxyFrontRealTitle3}`, async () => {
    const MIN_INTERVAL = 3
    const one = proxiedAdapter({ minRefreshIntervalSeconds: MIN_INTERVAL })
    const two = proxiedAdapter({ minRefreshIntervalSeconds: MIN_INTERVAL }) // as in another process
    for (const rewrite of [
      (b: Record<string, unknown>) => ({ ...b, expires_in: 0 }),
      ({ expires_in: _drop, ...b }: Record<string, unknown>) => b,
    ]) {
      await s.waitForExpiry(0)
      proxy.rewrite = (body, status) => (status === 200 ? rewrite(body) : undefined)
      try {
        const grants = s.op.stats.refreshGrants
        const first = await ask(one)
        expect(first.refreshed).toBe(true)
        expect(Math.abs(Number((await s.row()).expires_at) - (nowSeconds() + MIN_INTERVAL))).toBeLessThanOrEqual(1)
        for (let i = 0; i < 20; i++) expect((await ask(i % 2 ? one : two)).accessToken).toBe(first.accessToken)
        expect(s.op.stats.refreshGrants - grants).toBe(1)
        // After the interval, one more refresh (not one per call).
        await sleep(MIN_INTERVAL * 1000 + 200)
        const again = await Promise.all(Array.from({ length: 6 }, (_, i) => ask(i % 2 ? one : two)))
        expect(s.op.stats.refreshGrants - grants).toBe(2)
        expect(new Set(again.map((r) => r.accessToken)).size).toBe(1)
        await expectNewestStoredAndWorking(again[0]!)
      } finally {
        proxy.rewrite = undefined
      }
    }
    // Back to a normal expiry for the next tests.
    expect((await s.app.signIn(s.browser, { login: s.login, forceLogin: true })).ok).toBe(true)
  }, 60_000)
  test("[rewriting proxy: a 300-character scope] a value the database refuses (CHECK constraint): the caller gets the new access token and a RefreshPersistError; later calls neither fail nor loop; the kept refresh token is used next", async () => {
    const pool = s.fixture.pool
    await pool.query(`
      ALTER TABLE accounts ADD CONSTRAINT scope_short CHECK (scope IS NULL OR length(scope) <= 200);
      CREATE SEQUENCE persist_attempts;
      -- BEFORE triggers run before the CHECK; nextval is not rolled back with the failing statement.
      CREATE FUNCTION count_persist_attempts() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM nextval('persist_attempts'); RETURN NEW; END $$;
      CREATE TRIGGER count_persist_attempts BEFORE UPDATE ON accounts
        FOR EACH ROW EXECUTE FUNCTION count_persist_attempts();`)
    const attempts = async (): Promise<number> =>
      Number(
        (await pool.query("SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM persist_attempts")).rows[0]
          .n,
      )
    const adapter = proxiedAdapter()
    try {
      await s.waitForExpiry(0)
      const before = await s.row()
      const grants = s.op.stats.refreshGrants
      proxy.rewrite = (body, status) => (status === 200 ? { ...body, scope: "x".repeat(300) } : undefined)
      const first = await ask(adapter)
      proxy.rewrite = undefined
      expect(first.refreshed).toBe(true)
      expect(first.accessToken).toBe(s.op.lastIssued("access_token")?.value)
      expect((await s.op.userinfo(first.accessToken)).status).toBe(200)
      expect(first.persistError).toBeInstanceOf(RefreshPersistError)
      expect({
        code: first.persistError?.code,
        providerCalled: first.persistError?.providerCalled,
        sqlState: first.persistError?.sqlState,
        willRetry: first.persistError?.willRetry,
      }).toEqual({
        code: "REFRESH_NOT_PERSISTED",
        providerCalled: true,
        sqlState: "23514",
        willRetry: true,
      })
      expect(first.persistError?.message).toMatch(/had already issued new tokens/)
      // No token value in the error.
      const text = inspect(first.persistError, { depth: 10, showHidden: true })
      for (const token of s.op.issued) expect(text.includes(token.value)).toBe(false)
      expect((await s.row()).refresh_token).toBe(before.refresh_token) // nothing written
      const afterFirst = await attempts()
      expect(afterFirst).toBe(3) // the write under the lock + 2 immediate retries

      // Later calls: the kept token, no failure, no new grant, at most 5 writes in all.
      for (let i = 0; i < 10; i++) {
        const later = await ask(adapter)
        expect(later.accessToken).toBe(first.accessToken)
        expect(later.persistError).toBeInstanceOf(RefreshPersistError)
      }
      expect(await attempts()).toBe(5)
      expect(s.op.stats.refreshGrants - grants).toBe(1)
      expect(((await ask(adapter)).persistError as RefreshPersistError).willRetry).toBe(false)

      // The database takes the value again; at the next expiry this process refreshes with the KEPT refresh
      // token (the stored one was consumed by rotation: sending it would revoke the grant) and stores the result.
      await pool.query("ALTER TABLE accounts DROP CONSTRAINT scope_short")
      await sleep(2_200)
      const next = await ask(adapter)
      expect(next.refreshed).toBe(true)
      expect(next.persistError).toBeUndefined()
      expect(s.op.stats.refreshGrants - grants).toBe(2)
      await expectNewestStoredAndWorking(next)
    } finally {
      proxy.rewrite = undefined
      await pool.query(
        "ALTER TABLE accounts DROP CONSTRAINT IF EXISTS scope_short; " +
          "DROP TRIGGER IF EXISTS count_persist_attempts ON accounts",
      )
    }
  }, 60_000)
})
