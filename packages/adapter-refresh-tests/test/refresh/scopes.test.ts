/**
 * getAccessToken({ scopes }) against real PostgreSQL (the pg cell) and a real rotating oidc-provider, the
 * account linked by a real sign-in through Auth.js (so its stored `scope` is what the provider answered):
 *
 *   1. A scope the stored grant lacks: InsufficientScopeError naming it, the token not returned, and no
 *      request to the provider even when the token is due (a refresh cannot widen a grant).
 *   2. An unknown stored scope (NULL) is not a missing one.
 *   3. A refresh whose answer narrows the scope (the user took a permission back at the provider): the
 *      new tokens are stored, the error says so.
 * Each has its control: the same call without the missing scope, or with a known stored scope.
 */
import { describe, expect, test } from "@jest/globals"
import { InsufficientScopeError, withTokenSync, type AccessTokenResult } from "authjs-adapter-refresh"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, refreshRequests, useRefreshScenario } from "./scenario-hooks.js"

/** The scopes of a stored (space-delimited) scope value. */
const scopesOf = (value: unknown): string[] => String(value).split(" ").filter(Boolean)

describe("getAccessToken with scopes (pg, real oidc-provider with rotation)", () => {
  let s: RefreshScenario

  useRefreshScenario(
    "refresh_scopes",
    { cell: "pg", login: "scopes-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ s } = started)
    },
  )

  const ask = (scopes?: readonly string[] | string): Promise<AccessTokenResult> =>
    s.adapter.getAccessToken({
      userId: s.userId,
      provider: s.key.provider,
      ...(scopes === undefined ? {} : { scopes }),
    })

  test("the sign-in stored the scope the provider granted", async () => {
    expect(scopesOf((await s.row()).scope).sort()).toEqual(["email", "offline_access", "openid", "profile"])
  })

  test("a missing scope: InsufficientScopeError naming it, no token, no request to the provider", async () => {
    // The stored token is due: without the scope check this call would refresh.
    await s.waitForExpiry(0)
    const before = await s.row()
    const requests = refreshRequests(s)

    const error = await rejection(ask(["openid", "calendar", "email", "contacts"]))
    expect(error).toBeInstanceOf(InsufficientScopeError)
    const scopeError = error as InsufficientScopeError
    expect({
      code: scopeError.code,
      provider: scopeError.provider,
      missing: scopeError.missingScopes,
      source: scopeError.source,
      providerCalled: scopeError.providerCalled,
    }).toEqual({
      code: "INSUFFICIENT_SCOPE",
      provider: s.key.provider,
      missing: ["calendar", "contacts"],
      source: "stored",
      providerCalled: false,
    })
    expect(refreshRequests(s) - requests).toBe(0)
    expect(await s.row()).toEqual(before)
    for (const secret of [before.access_token, before.refresh_token]) expect(scopeError.message).not.toContain(secret)

    // Control: the same call asking only for granted scopes (string form, any order) refreshes once.
    const result = await ask("email openid")
    expect(result.refreshed).toBe(true)
    expect(refreshRequests(s) - requests).toBe(1)
    expect((await s.op.userinfo(result.accessToken)).status).toBe(200)

    // A fresh token is not returned either when a scope is missing; still no request.
    const fresh = await rejection(ask(["calendar"]))
    expect((fresh as InsufficientScopeError).missingScopes).toEqual(["calendar"])
    expect(refreshRequests(s) - requests).toBe(1)
    // Control: case matters (RFC 6749 §3.3), so "Email" is missing while "email" is not.
    expect(((await rejection(ask(["Email"]))) as InsufficientScopeError).missingScopes).toEqual(["Email"])
    expect((await ask(["email"])).accessToken).toBe(result.accessToken)
  }, 30_000)

  test("with refresh.cache, a cached answer is checked too", async () => {
    const cached = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: { providers: [s.providerConfig], skewSeconds: 0, minRefreshIntervalSeconds: 0, cache: {} },
    })
    // The stored token counts as fresh for the whole test (it is never sent to the provider here).
    const expiresAt = (await s.row()).expires_at
    const setExpiry = (value: unknown) =>
      s.fixture.pool.query(`UPDATE accounts SET expires_at = $3 WHERE provider = $1 AND "providerAccountId" = $2`, [
        s.key.provider,
        s.key.providerAccountId,
        value,
      ])
    await setExpiry(Math.floor(Date.now() / 1000) + 600)
    try {
      const params = { userId: s.userId, provider: s.key.provider }
      // A call without scopes caches the answer.
      const first = await cached.getAccessToken(params)
      const requests = refreshRequests(s)
      const hits = cached.tokenCache!.stats().hits
      const error = await rejection(cached.getAccessToken({ ...params, scopes: ["calendar"] }))
      expect(cached.tokenCache!.stats().hits - hits).toBe(1) // answered from the cache, and refused
      expect((error as InsufficientScopeError).missingScopes).toEqual(["calendar"])
      // Control: the same cached answer with a granted scope is returned.
      expect((await cached.getAccessToken({ ...params, scopes: ["openid"] })).accessToken).toBe(first.accessToken)
      expect(cached.tokenCache!.stats().hits - hits).toBe(2)
      expect(refreshRequests(s) - requests).toBe(0)
    } finally {
      await cached.tokenCache?.close()
      await setExpiry(expiresAt)
    }
  }, 30_000)

  test("an unknown stored scope (NULL) is not a missing one", async () => {
    const stored = (await s.row()).scope
    await s.fixture.pool.query(`UPDATE accounts SET scope = NULL WHERE provider = $1 AND "providerAccountId" = $2`, [
      s.key.provider,
      s.key.providerAccountId,
    ])
    try {
      expect((await s.row()).scope).toBeNull()
      const result = await ask(["calendar"])
      expect(result.accessToken).toBe((await s.row()).access_token)
    } finally {
      await s.fixture.pool.query(`UPDATE accounts SET scope = $3 WHERE provider = $1 AND "providerAccountId" = $2`, [
        s.key.provider,
        s.key.providerAccountId,
        stored,
      ])
    }
    // Control: with the scope known again, the same call is refused.
    expect(await rejection(ask(["calendar"]))).toBeInstanceOf(InsufficientScopeError)
  }, 30_000)

  test("a refresh answer that narrows the scope: tokens stored, InsufficientScopeError from 'refresh'", async () => {
    // The user takes "email" back at the provider: the grant's next refresh answers without it.
    const before = await s.row()
    const grantId = s.op.issuedOf("refresh_token").find((t) => t.value === before.refresh_token)?.grantId
    expect(grantId).toBeDefined()
    await s.op.rejectGrantScope(grantId!, "email")
    // The stored scope still has email: the check before the refresh passes, the provider is asked.
    expect(scopesOf(before.scope)).toContain("email")
    await s.waitForExpiry(0)
    const requests = refreshRequests(s)

    const error = await rejection(ask(["email"]))
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect({
      missing: (error as InsufficientScopeError).missingScopes,
      source: (error as InsufficientScopeError).source,
      providerCalled: (error as InsufficientScopeError).providerCalled,
    }).toEqual({ missing: ["email"], source: "refresh", providerCalled: true })
    expect(refreshRequests(s) - requests).toBe(1)
    // The rotated tokens and the narrower scope were stored: nothing the provider issued is lost.
    const after = await s.row()
    expect(after.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
    expect(after.refresh_token).not.toBe(before.refresh_token)
    expect(scopesOf(after.scope).sort()).toEqual(["offline_access", "openid", "profile"])

    // Control: a caller not asking for email gets the new token with no further request.
    const result = await ask(["openid"])
    expect(result.refreshed).toBe(false)
    expect(result.accessToken).toBe(after.access_token)
    expect(refreshRequests(s) - requests).toBe(1)
    // And asking for email again is refused from the stored scope now, without a request.
    expect(((await rejection(ask(["email"]))) as InsufficientScopeError).source).toBe("stored")
    expect(refreshRequests(s) - requests).toBe(1)
  }, 30_000)
})
