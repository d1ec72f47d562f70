/**
 * The Better Auth plugin (`tokenSync`) through Better Auth's Prisma or Drizzle adapter (PostgreSQL; Drizzle also
 * on MariaDB and on SQLite, whose expiries Better Auth's Drizzle schema keeps as epoch milliseconds), with the
 * real `better-auth` package and the real rotating provider: Better Auth's own sign-in stores the grant through
 * the adapter; the plugin is given the client the adapter was built from and runs the library's lease-mode
 * refresh over the same rows, by the names the ORM's schema gives them. The control: the same storm on plain
 * Better Auth through the same adapter breaks the grant. Run by better-auth-plugin-prisma.test.ts,
 * better-auth-plugin-drizzle.test.ts, -drizzle-sqlite.test.ts and -drizzle-mariadb.test.ts (one file each, so
 * each stays short).
 */
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { UnsupportedDatabaseError } from "authjs-adapter-refresh"
import { betterAuthAccountStore, tokenSync } from "authjs-adapter-refresh/better-auth"
import { betterAuth } from "better-auth"
import { Browser } from "../../src/harness/browser.js"
import type { TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testMysqlDatabase, type TestMysqlDatabase } from "../../src/harness/mariadb.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import { testSqliteFile, type TestSqliteFile } from "../../src/harness/sqlite.js"
import {
  startBetterAuthApp,
  type BetterAuthAccount,
  type BetterAuthApp,
} from "../../src/refresh-bench/better-auth-app.js"
import {
  openBetterAuthOrm,
  type BetterAuthOrm,
  type BetterAuthOrmDatabase,
} from "../../src/refresh-bench/better-auth-orm.js"
import { LEASE_TABLE_SQL } from "../../src/refresh-bench/lease-mode.js"
import { LEASE_TABLE_SQL_BY_DATABASE } from "../../src/fixtures/lease-table.js"
import { runStorm } from "../../src/refresh-bench/run-storm.js"
import type { StormProviderSettings } from "../../src/refresh-bench/storm-protocol.js"
import { startLocalOidc } from "./better-auth-hooks.js"
import { rejection } from "./scenario-hooks.js"

/** The lease table (README, "Lease mode: the migration") on each database. */
const LEASE_TABLES: Record<BetterAuthOrm, string> = {
  prisma: LEASE_TABLE_SQL,
  drizzle: LEASE_TABLE_SQL,
  "drizzle-sqlite": LEASE_TABLE_SQL_BY_DATABASE.sqlite,
  "drizzle-mariadb": LEASE_TABLE_SQL_BY_DATABASE.mariadb,
  "prisma-mariadb": LEASE_TABLE_SQL_BY_DATABASE.mariadb,
}

/** The suite of one of Better Auth's ORM adapters. */
export function describeBetterAuthOrm(name: string, orm: BetterAuthOrm): void {
  describe(`Better Auth + tokenSync through Better Auth's ${name}`, () => {
    let database: TestDatabase | TestSqliteFile | TestMysqlDatabase
    let op: TestOidcProvider
    let provider: StormProviderSettings
    let ba: BetterAuthOrmDatabase
    let app: BetterAuthApp
    let alice: BetterAuthAccount
    let bob: BetterAuthAccount
    const refreshRequests = () => op.stats.refreshGrants + op.stats.refreshErrors.length

    beforeAll(async () => {
      ;({ op, provider } = await startLocalOidc())
      database =
        orm === "drizzle-sqlite"
          ? await testSqliteFile("ba_orm")
          : orm === "drizzle-mariadb" || orm === "prisma-mariadb"
            ? await testMysqlDatabase("ba_orm")
            : await testDatabase(`ba_${orm}`)
      const url = "path" in database ? database.path : database.url
      ba = await openBetterAuthOrm(orm, url, { migrate: true })
      await ba.exec(LEASE_TABLES[orm])
      app = await startBetterAuthApp({
        pool: ba,
        provider,
        addRedirectUri: (uri) => op.addRedirectUri(uri),
        secret: randomBytes(32).toString("base64url"),
        tokenSync: { skewSeconds: 0 },
      })
      alice = await app.signIn(new Browser(), "ba-alice")
      bob = await app.signIn(new Browser(), "ba-bob")
    }, 60_000)
    afterAll(async () => {
      await app?.stop()
      await ba?.close()
      await database?.drop()
      await op?.stop()
    })

    const url = () => ("path" in database ? database.path : database.url)
    const row = (account: BetterAuthAccount) => ba.row(account.accountId)
    const expire = (account: BetterAuthAccount) => ba.expire(account.accountId)
    const stormOf = (account: BetterAuthAccount, login: string, plugin: boolean) =>
      runStorm(
        {
          databaseUrl: url(),
          provider,
          userId: account.userId,
          providerAccountId: login,
          mode: "better-auth",
          skewSeconds: 0,
          // Not the server's zone: a zone-less timestamp must still mean the instant Better Auth wrote.
          timeZone: "America/New_York",
          betterAuth: {
            secret: app.settings.secret,
            baseURL: app.settings.baseURL,
            ...(plugin && app.settings.tokenSync ? { tokenSync: app.settings.tokenSync } : {}),
            ...account,
            database: { kind: orm, url: url() },
          },
        },
        { processes: 3, callersPerProcess: 25 },
      )

    test("Better Auth's sign-in stored the grant through its adapter; the store reads it by the schema's names", async () => {
      const stored = await row(alice)
      expect(op.issued.some((t) => t.kind === "refresh_token" && t.value === stored.refreshToken)).toBe(true)
      const rows = await betterAuthAccountStore(ba.client).findAccounts(alice.userId, provider.id)
      expect(rows).toHaveLength(1)
      expect(rows[0]!.tokens.access_token).toBe(stored.accessToken)
      expect(rows[0]!.tokens.refresh_token).toBe(stored.refreshToken)
      expect(rows[0]!.tokens.expires_at).toBe(Math.floor(stored.accessTokenExpiresAt.getTime() / 1000))
    })

    test("a fresh token comes from the row; a due one is refreshed once, written back by the ORM's names", async () => {
      const fresh = await row(alice)
      const before = refreshRequests()
      expect((await app.auth.api.getAccessToken({ body: alice })).accessToken).toBe(fresh.accessToken)
      expect(refreshRequests()).toBe(before)

      await expire(alice)
      const result = await app.auth.api.getAccessToken({ body: alice })
      expect(refreshRequests()).toBe(before + 1)
      const after = await row(alice)
      expect(result.accessToken).toBe(after.accessToken)
      expect(after.accessToken).not.toBe(fresh.accessToken)
      expect(after.refreshToken).not.toBe(fresh.refreshToken)
      expect(op.issued.some((t) => t.kind === "refresh_token" && t.value === after.refreshToken)).toBe(true)
      expect(after.accessTokenExpiresAt.getTime()).toBeGreaterThan(Date.now() + 30_000)
      // Stored as Better Auth's own sign-in stored it (SQLite's Drizzle schema: an integer of epoch ms).
      expect(after.expiryType).toBe(fresh.expiryType)
      // The plugin's answer: the expiry the store wrote, as Better Auth's response carries it.
      expect(result.accessTokenExpiresAt?.getTime()).toBe(
        Math.floor(after.accessTokenExpiresAt.getTime() / 1000) * 1000,
      )
    }, 30_000)

    test("storm, 3 processes x 25 callers in New York's time zone: one grant, no invalid_grant, grant alive", async () => {
      await expire(alice)
      const before = {
        grants: op.stats.refreshGrants,
        errors: op.stats.refreshErrors.length,
        revoked: op.stats.grantsRevoked,
      }
      const storm = await stormOf(alice, "ba-alice", true)
      expect(storm.outcomes.filter((o) => !o.ok).map((o) => o.error)).toEqual([])
      expect(storm.outcomes).toHaveLength(75)
      expect(op.stats.refreshGrants - before.grants).toBe(1)
      expect(op.stats.refreshErrors.slice(before.errors)).toEqual([])
      expect(op.stats.grantsRevoked).toBe(before.revoked)
      expect(new Set(storm.outcomes.map((o) => o.tokenFingerprint)).size).toBe(1)
      // The grant lives on: the next expiry refreshes with the stored (rotated) refresh token.
      await expire(alice)
      await app.auth.api.getAccessToken({ body: alice })
      expect(op.stats.refreshGrants - before.grants).toBe(2)
      expect(op.stats.refreshErrors.slice(before.errors)).toEqual([])
    }, 60_000)

    test("control, plain Better Auth through the same adapter: the same storm reuses the refresh token", async () => {
      await expire(bob)
      const before = {
        grants: op.stats.refreshGrants,
        errors: op.stats.refreshErrors.length,
        revoked: op.stats.grantsRevoked,
      }
      await stormOf(bob, "ba-bob", false)
      const errors = op.stats.refreshErrors.slice(before.errors)
      expect(op.stats.refreshGrants - before.grants + errors.length).toBeGreaterThan(1)
      expect(errors.map((e) => e.error)).toContain("invalid_grant")
      expect(op.stats.grantsRevoked).toBeGreaterThan(before.revoked)
    }, 60_000)

    test("given only the adapter, Better Auth's start fails typed, saying to pass the client to the plugin", async () => {
      const auth = betterAuth({
        database: ba.adapter,
        secret: app.settings.secret,
        baseURL: app.settings.baseURL,
        telemetry: { enabled: false },
        logger: { disabled: true },
        plugins: [
          tokenSync({
            refresh: {
              providers: [
                {
                  id: provider.id,
                  type: "oidc",
                  issuer: provider.issuer,
                  clientId: provider.clientId,
                  clientSecret: provider.clientSecret,
                },
              ],
            },
          }),
        ],
      })
      const error = await rejection(auth.$context)
      expect(error).toBeInstanceOf(UnsupportedDatabaseError)
      expect((error as Error).message).toContain("tokenSync({ database: prisma, refresh })")
    })
  })
}
