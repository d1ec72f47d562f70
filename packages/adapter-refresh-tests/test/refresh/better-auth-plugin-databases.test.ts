/**
 * The Better Auth plugin (`tokenSync`) on Better Auth's own `account` table through its built-in Kysely
 * adapter on MariaDB (a mysql2 pool) and SQLite (a better-sqlite3 Database on a file), with the real rotating
 * provider: Better Auth's own sign-in stores the grant; its `getAccessToken` then runs the library's lease-mode
 * refresh, from one process and from four (the storm). The SQLite timestamps are ISO text (Better Auth's own
 * encoding there), MariaDB's DATETIME(3) through mysql2.
 *
 * PostgreSQL: better-auth-plugin.test.ts. The control without the plugin (the same storm breaks the grant):
 * better-auth.test.ts, and below, with the plugin's lease taken away.
 */
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { RefreshTokenError } from "authjs-adapter-refresh"
import { betterAuthAccountStore } from "authjs-adapter-refresh/better-auth"
import type BetterSqlite from "better-sqlite3"
import mysql from "mysql2/promise"
import { Browser } from "../../src/harness/browser.js"
import { startKeycloakProxy, type KeycloakProxy } from "../../src/harness/keycloak-proxy.js"
import { testMysqlDatabase } from "../../src/harness/mariadb.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { openSqlite, testSqliteFile } from "../../src/harness/sqlite.js"
import {
  startBetterAuthApp,
  type BetterAuthAccount,
  type BetterAuthApp,
} from "../../src/refresh-bench/better-auth-app.js"
import { runStorm } from "../../src/refresh-bench/run-storm.js"
import type { StormProviderSettings } from "../../src/refresh-bench/storm-protocol.js"
import { startLocalOidc } from "./better-auth-hooks.js"
import { rejection } from "./scenario-hooks.js"
import { LEASE_TABLE_SQL_BY_DATABASE } from "../../src/fixtures/lease-table.js"

interface Row {
  accessToken: string
  refreshToken: string
  accessTokenExpiresAt: Date
}

/** Better Auth's database on one kind, with the few statements the tests send beside it. */
interface Database {
  kind: "mariadb" | "sqlite"
  url: string
  handle: mysql.Pool | BetterSqlite.Database
  row(id: string): Promise<Row>
  /** Sets the account's access-token expiry, as Better Auth encodes it on this database. */
  setExpiry(id: string, at: Date): Promise<void>
  /** A connection of its own, as Better Auth's writes use one: a transaction held open across awaits. */
  writer(): Promise<Writer>
  close(): Promise<void>
}

interface Writer {
  begin(): Promise<void>
  setRefreshToken(id: string, token: string): Promise<void>
  commit(): Promise<void>
  end(): Promise<void>
}

async function mariadb(): Promise<Database> {
  const created = await testMysqlDatabase("ba_plugin")
  const pool = mysql.createPool({ uri: created.url, connectionLimit: 10 })
  return {
    kind: "mariadb",
    url: created.url,
    handle: pool,
    async row(id) {
      const [rows] = await pool.query<mysql.RowDataPacket[]>(
        "SELECT `accessToken`, `refreshToken`, `accessTokenExpiresAt` FROM `account` WHERE `id` = ?",
        [id],
      )
      return rows[0] as Row
    },
    async setExpiry(id, at) {
      await pool.query("UPDATE `account` SET `accessTokenExpiresAt` = ? WHERE `id` = ?", [at, id])
    },
    async writer() {
      const connection = await pool.getConnection()
      let released = false
      return {
        begin: async () => void (await connection.query("START TRANSACTION")),
        setRefreshToken: async (id, token) =>
          void (await (released ? pool : connection).query("UPDATE `account` SET `refreshToken` = ? WHERE `id` = ?", [
            token,
            id,
          ])),
        commit: async () => void (await connection.query("COMMIT")),
        end: async () => {
          await connection.query("ROLLBACK").catch(() => undefined)
          connection.release()
          released = true
        },
      }
    },
    async close() {
      await pool.end()
      await created.drop()
    },
  }
}

async function sqlite(): Promise<Database> {
  const file = await testSqliteFile("ba_plugin")
  const db = openSqlite(file.path)
  return {
    kind: "sqlite",
    url: file.path,
    handle: db,
    async row(id) {
      const row = db
        .prepare(`SELECT "accessToken", "refreshToken", "accessTokenExpiresAt" FROM "account" WHERE "id" = ?`)
        .get(id) as { accessToken: string; refreshToken: string; accessTokenExpiresAt: string }
      return { ...row, accessTokenExpiresAt: new Date(row.accessTokenExpiresAt) }
    },
    async setExpiry(id, at) {
      db.prepare(`UPDATE "account" SET "accessTokenExpiresAt" = ? WHERE "id" = ?`).run(at.toISOString(), id)
    },
    async writer() {
      // Another connection to the file, as another process's Better Auth would write it.
      const other = openSqlite(file.path)
      return {
        begin: async () => void other.exec("BEGIN IMMEDIATE"),
        setRefreshToken: async (id, token) =>
          void (other.open ? other : db)
            .prepare(`UPDATE "account" SET "refreshToken" = ? WHERE "id" = ?`)
            .run(token, id),
        commit: async () => void other.exec("COMMIT"),
        end: async () => {
          if (other.inTransaction) other.exec("ROLLBACK")
          other.close()
        },
      }
    },
    async close() {
      db.close()
      await file.drop()
    },
  }
}

describe.each([
  ["MariaDB (mysql2 pool)", mariadb],
  ["SQLite (better-sqlite3 file)", sqlite],
] as const)("Better Auth + tokenSync on %s", (_name, open) => {
  let db: Database
  let op: TestOidcProvider
  let provider: StormProviderSettings
  let app: BetterAuthApp
  let alice: BetterAuthAccount
  const refreshRequests = () => op.stats.refreshGrants + op.stats.refreshErrors.length

  beforeAll(async () => {
    ;({ op, provider } = await startLocalOidc())
    db = await open()
    app = await startBetterAuthApp({
      pool: db.handle,
      provider,
      addRedirectUri: (uri) => op.addRedirectUri(uri),
      secret: randomBytes(32).toString("base64url"),
      tokenSync: { skewSeconds: 0 },
    })
    if ("aggregate" in db.handle) db.handle.exec(LEASE_TABLE_SQL_BY_DATABASE.sqlite)
    else await db.handle.query(LEASE_TABLE_SQL_BY_DATABASE.mariadb)
    alice = await app.signIn(new Browser(), "ba-alice")
  }, 60_000)
  afterAll(async () => {
    await app?.stop()
    await db?.close()
    await op?.stop()
  })

  const expire = (account: BetterAuthAccount) => db.setExpiry(account.accountId, new Date(Date.now() - 1000))

  test("the store reads Better Auth's row: tokens as stored, its timestamp expiry as epoch seconds", async () => {
    const stored = await db.row(alice.accountId)
    const store = betterAuthAccountStore(db.handle)
    const rows = await store.findAccounts(alice.userId, provider.id)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.tokens.access_token).toBe(stored.accessToken)
    expect(rows[0]!.tokens.refresh_token).toBe(stored.refreshToken)
    expect(rows[0]!.tokens.expires_at).toBe(Math.floor(stored.accessTokenExpiresAt.getTime() / 1000))
  })

  test("the store's locked read waits for a Better Auth write in flight (it takes no account lock)", async () => {
    const store = betterAuthAccountStore(db.handle)
    const original = (await db.row(alice.accountId)).refreshToken
    // Better Auth's sign-in UPDATE, its transaction still open (it never takes the library's lock).
    const writer = await db.writer()
    try {
      await writer.begin()
      await writer.setRefreshToken(alice.accountId, "signed-in-meanwhile")
      const read = store.withAccountLock({ provider: provider.id, providerAccountId: "ba-alice" }, (locked) =>
        locked.readAll(),
      )
      await new Promise((resolve) => setTimeout(resolve, 300))
      await writer.commit()
      const rows = await read
      expect(rows.map((r) => r.tokens.refresh_token)).toEqual(["signed-in-meanwhile"])
    } finally {
      await writer.end()
      await writer.setRefreshToken(alice.accountId, original)
    }
  })

  test("a fresh token comes from the row; a due one is refreshed once, the rotated token and expiry stored", async () => {
    const fresh = await db.row(alice.accountId)
    const before = refreshRequests()
    expect((await app.auth.api.getAccessToken({ body: alice })).accessToken).toBe(fresh.accessToken)
    expect(refreshRequests()).toBe(before)

    await expire(alice)
    const grants = op.stats.refreshGrants
    const result = await app.auth.api.getAccessToken({ body: alice })
    expect(op.stats.refreshGrants).toBe(grants + 1)
    const after = await db.row(alice.accountId)
    expect(result.accessToken).toBe(after.accessToken)
    expect(after.accessToken).not.toBe(fresh.accessToken)
    expect(after.refreshToken).not.toBe(fresh.refreshToken)
    expect(op.issued.some((t) => t.kind === "refresh_token" && t.value === after.refreshToken)).toBe(true)
    // Written as Better Auth writes it there (a DATETIME; ISO text on SQLite), read back as a time ahead.
    expect(after.accessTokenExpiresAt.getTime()).toBeGreaterThan(Date.now() + 30_000)
    expect(result.accessTokenExpiresAt?.getTime()).toBe(Math.floor(after.accessTokenExpiresAt.getTime() / 1000) * 1000)
  }, 30_000)

  test("an account id or a user id that differs only in letter case finds nothing, as in Better Auth", async () => {
    // MariaDB's default collations compare text without case: the plugin's read must not.
    const swapCase = (text: string) =>
      [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join("")
    const token = (await db.row(alice.accountId)).accessToken
    for (const body of [
      { accountId: swapCase(alice.accountId), userId: alice.userId },
      { accountId: alice.accountId, userId: swapCase(alice.userId) },
    ]) {
      expect(body).not.toEqual(alice)
      const error = (await rejection(app.auth.api.getAccessToken({ body }))) as {
        status?: unknown
        body?: { code?: unknown }
      }
      expect({ status: error.status, code: error.body?.code }).toEqual({
        status: "BAD_REQUEST",
        code: "ACCOUNT_NOT_FOUND",
      })
      expect(JSON.stringify(error)).not.toContain(token)
    }
  })

  test("storm, 4 processes x 25 callers of Better Auth's getAccessToken: one grant, no invalid_grant, grant alive", async () => {
    await expire(alice)
    const before = {
      grants: op.stats.refreshGrants,
      errors: op.stats.refreshErrors.length,
      revoked: op.stats.grantsRevoked,
    }
    const storm = await runStorm(
      {
        databaseUrl: db.url,
        provider,
        userId: alice.userId,
        providerAccountId: "ba-alice",
        mode: "better-auth",
        skewSeconds: 0,
        betterAuth: { ...app.settings, ...alice, database: { kind: db.kind, url: db.url } },
      },
      { processes: 4, callersPerProcess: 25 },
    )
    expect(storm.outcomes.filter((o) => !o.ok).map((o) => o.error)).toEqual([])
    expect(storm.outcomes).toHaveLength(100)
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
})

describe("Better Auth + tokenSync: refreshTokenExpiresAt is the refresh token's expiry (Keycloak's answers, SQLite)", () => {
  let db: Database
  let sqliteDb: BetterSqlite.Database
  let op: TestOidcProvider
  let kc: KeycloakProxy
  let app: BetterAuthApp
  let alice: BetterAuthAccount
  const browser = new Browser()
  const refreshRequests = () => op.stats.refreshGrants + op.stats.refreshErrors.length
  const refreshExpiry = (): string | null =>
    (
      sqliteDb.prepare(`SELECT "refreshTokenExpiresAt" AS at FROM "account" WHERE "id" = ?`).get(alice.accountId) as {
        at: string | null
      }
    ).at
  const setRefreshExpiry = (at: Date) =>
    sqliteDb
      .prepare(`UPDATE "account" SET "refreshTokenExpiresAt" = ? WHERE "id" = ?`)
      .run(at.toISOString(), alice.accountId)

  beforeAll(async () => {
    op = await startOidcProvider({ accessTokenTtl: 60, rotateRefreshToken: true })
    // The plugin's refresh grants go through a proxy answering as Keycloak (refresh_expires_in: SSO idle).
    kc = await startKeycloakProxy(op.endpoints.token, { ssoSessionIdleSeconds: 1800 })
    // An online session: Keycloak's refresh_expires_in is then the session's bound (0 for an offline token).
    kc.onlineSession = true
    db = await sqlite()
    sqliteDb = db.handle as BetterSqlite.Database
    app = await startBetterAuthApp({
      pool: db.handle,
      provider: {
        id: "local-oidc",
        issuer: op.issuer,
        clientId: op.clientId,
        clientSecret: op.clientSecret,
        tokenEndpoint: op.endpoints.token,
      },
      addRedirectUri: (uri) => op.addRedirectUri(uri),
      secret: randomBytes(32).toString("base64url"),
      tokenSync: { skewSeconds: 0, tokenEndpoint: kc.url },
    })
    sqliteDb.exec(LEASE_TABLE_SQL_BY_DATABASE.sqlite)
    alice = await app.signIn(browser, "kc-alice")
  }, 60_000)
  afterAll(async () => {
    await app?.stop()
    await kc?.stop()
    await db?.close()
    await op?.stop()
  })
  const expire = () => db.setExpiry(alice.accountId, new Date(Date.now() - 1000))

  test("a refresh stores refresh_expires_in as refreshTokenExpiresAt (ISO text, as Better Auth writes it)", async () => {
    await expire()
    const before = Date.now()
    await app.auth.api.getAccessToken({ body: alice })
    const stored = refreshExpiry()
    expect(typeof stored).toBe("string")
    const at = new Date(stored!).getTime()
    expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 1790_000)
    expect(at).toBeLessThanOrEqual(Date.now() + 1800_000)
  }, 30_000)

  test("a passed refreshTokenExpiresAt fails typed (RefreshTokenError expired) without a request", async () => {
    const fresh = await db.row(alice.accountId)
    setRefreshExpiry(new Date(Date.now() - 60_000))
    // A fresh access token is still served until it expires.
    expect((await app.auth.api.getAccessToken({ body: alice })).accessToken).toBe(fresh.accessToken)
    await expire()
    const before = { provider: refreshRequests(), proxy: kc.requests }
    const error = (await rejection(app.auth.api.getAccessToken({ body: alice }))) as {
      body?: { code?: unknown; tokenSyncCode?: unknown }
      cause?: unknown
    }
    expect(error.body?.code).toBe("FAILED_TO_GET_ACCESS_TOKEN")
    expect(error.cause).toBeInstanceOf(RefreshTokenError)
    expect((error.cause as RefreshTokenError).reason).toBe("expired")
    expect({ provider: refreshRequests(), proxy: kc.requests }).toEqual(before)
    expect((await db.row(alice.accountId)).refreshToken).toBe(fresh.refreshToken)
  }, 30_000)

  test("Better Auth's sign-in with a new refresh token makes its expiry unknown, and the next refresh works", async () => {
    setRefreshExpiry(new Date(Date.now() - 60_000))
    // Better Auth's own code exchange (straight to the provider: no refresh_expires_in to read).
    await app.signIn(browser, "kc-alice")
    expect(refreshExpiry()).toBeNull()
    await expire()
    const grants = op.stats.refreshGrants
    await app.auth.api.getAccessToken({ body: alice })
    expect(op.stats.refreshGrants).toBe(grants + 1)
    expect(refreshExpiry()).not.toBeNull()
  }, 30_000)
})
