/**
 * Moving to Better Auth from an Auth.js adapter other than `@auth/pg-adapter`: `copyAuthjsAccounts({ from:
 * { adapter, db } })` pages the accounts with the store's `scanAccounts` and reads their users with the adapter's
 * `getUser`. Here the source is `@auth/unstorage-adapter` on a real redis-server (tokens under
 * `tokenEncryption`), the target Better Auth + `tokenSync` on real PostgreSQL, and the grants real ones of the
 * rotating provider: after the copy Better Auth refreshes each with no new authorization.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { tokenEncryption, withTokenSync, type AccountKey } from "authjs-adapter-refresh"
import { copyAuthjsAccounts } from "authjs-adapter-refresh/better-auth"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import type { ConformanceFixture } from "../../src/kit/fixture.js"
import { unstorageRedisFixture } from "../../src/fixtures/conformance-unstorage-redis.js"
import { testRedisDatabase, type TestRedisDatabase } from "../../src/harness/redis.js"
import type { OfflineGrant } from "../../src/harness/oidc-provider.js"
import type { BetterAuthApp } from "../../src/refresh-bench/better-auth-app.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useBetterAuthScenario } from "./better-auth-hooks.js"

interface BetterAuthRow {
  id: string
  userId: string
  refreshToken: string
  accessTokenExpiresAt: Date
  scope: string | null
}

describe("Auth.js on Redis (@auth/unstorage-adapter, tokenEncryption) to Better Auth + tokenSync: copyAuthjsAccounts", () => {
  const bed = useBetterAuthScenario("refresh_better_auth_migration_adapters")
  let s: RefreshScenario
  let app: BetterAuthApp
  let redis: TestRedisDatabase
  let source: ConformanceFixture
  const codec = tokenEncryption({ keys: [{ id: "k1", key: randomBytes(32) }] })
  const seeded: { key: AccountKey; grant: OfflineGrant; email: string }[] = []

  beforeAll(async () => {
    s = bed.s
    app = await bed.start({ tokenSync: { skewSeconds: 0 } })
    redis = await testRedisDatabase("mig_redis")
    source = await unstorageRedisFixture(redis.url)
    // The Auth.js app's sign-in path: withTokenSync over the Redis store, tokens encrypted at rest.
    const authjs = withTokenSync(source.adapter, source.db as object, {
      codec,
      refresh: { coordination: "lease", providers: [] },
    })
    for (const [i, email] of ["mig-redis-a@example.test", "mig-redis-b@example.test", ""].entries()) {
      const user = await source.adapter.createUser!({ id: randomUUID(), email, emailVerified: null, name: `R ${i}` })
      const login = `mig-redis-${i}`
      const grant = await s.op.issueOfflineGrant(login)
      const key = { provider: s.provider.id, providerAccountId: login }
      await authjs.linkAccount({
        ...key,
        userId: user.id,
        type: "oidc",
        access_token: grant.accessToken,
        refresh_token: grant.refreshToken,
        expires_at: grant.expiresAt,
        scope: grant.scope,
        token_type: "bearer",
      })
      seeded.push({ key, grant, email })
    }
  }, 60_000)
  afterAll(async () => {
    await source?.close?.()
    await redis?.drop()
  })

  const betterAuthRow = async (key: AccountKey): Promise<BetterAuthRow | undefined> => {
    const { rows } = await s.fixture.pool.query<BetterAuthRow>(
      `SELECT "id", "userId", "refreshToken", "accessTokenExpiresAt", "scope" FROM "account"
        WHERE "providerId" = $1 AND "accountId" = $2`,
      [key.provider, key.providerAccountId],
    )
    return rows[0]
  }

  test("every account with an email is copied, decrypted, and Better Auth refreshes its grant with no new consent", async () => {
    // Stored encrypted in Redis: the copy must decrypt with the app's codec.
    const raw = (await source.accountRows(seeded[0]!.key))[0]!
    expect(String(raw.refresh_token)).not.toContain(seeded[0]!.grant.refreshToken)

    const from = { adapter: source.adapter, db: source.db }
    const first = await copyAuthjsAccounts({ from, to: app.auth, codec })
    expect(first).toEqual({
      copied: 2,
      alreadyThere: 0,
      usersCreated: 2,
      skipped: [{ ...seeded[2]!.key, reason: "user_without_email" }],
    })
    // Idempotent: a second run writes nothing.
    expect(await copyAuthjsAccounts({ from, to: app.auth, codec })).toMatchObject({ copied: 0, alreadyThere: 2 })

    for (const { key, grant } of seeded.slice(0, 2)) {
      const copied = (await betterAuthRow(key))!
      expect(copied.refreshToken).toBe(grant.refreshToken)
      expect(copied.accessTokenExpiresAt.getTime()).toBe(grant.expiresAt * 1000)
      expect(copied.scope).toBe(grant.scope.split(" ").join(","))
      await s.fixture.pool.query(
        `UPDATE "account" SET "accessTokenExpiresAt" = now() - interval '1 second' WHERE "id" = $1`,
        [copied.id],
      )
      const authorizations = s.op.stats.authorizationCodeGrants
      const grants = s.op.stats.refreshGrants
      const result = await app.auth.api.getAccessToken({ body: { accountId: copied.id, userId: copied.userId } })
      expect(s.op.stats.refreshGrants).toBe(grants + 1)
      expect(s.op.stats.authorizationCodeGrants).toBe(authorizations)
      expect(s.op.issued.find((token) => token.value === result.accessToken)?.grantId).toBe(grant.grantId)
      expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
    }
    expect(s.op.stats.refreshErrors).toEqual([])
    expect(await betterAuthRow(seeded[2]!.key)).toBeUndefined()
  }, 60_000)

  test("a source whose store cannot page is refused, naming the method; nothing is written", async () => {
    const before = await s.fixture.pool.query(`SELECT count(*)::int AS n FROM "account"`)
    const error = await copyAuthjsAccounts({
      from: { adapter: source.adapter, db: { ...(source.db as object), scanAccounts: undefined } },
      to: app.auth,
      codec,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error?.message).toContain("scanAccounts")
    expect((await s.fixture.pool.query(`SELECT count(*)::int AS n FROM "account"`)).rows).toEqual(before.rows)
  })
})
