/**
 * Encryption at rest on real PostgreSQL, each of the three stores: real sign-ins through the real
 * Auth.js handler against the real oidc-provider (rotating refresh tokens), real refreshes, then the
 * database is read the way an attacker with a dump would read it.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { randomUUID } from "node:crypto"
import type { Adapter, AdapterAccount } from "@auth/core/adapters"
import {
  tokenEncryption,
  withTokenSync,
  type TokenEncryptionCodec,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { ENVELOPE_MARK } from "authjs-adapter-refresh/internal"
import { copyEveryTable, findPgDump, pgDump, randomKeyString } from "../../src/encryption/at-rest.js"
import { startAuthApp, type AuthApp } from "../../src/harness/auth-app.js"
import { Browser } from "../../src/harness/browser.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import { applySchema, createFixture, PG_CELLS, type DatabaseFixture } from "../../src/fixtures/databases.js"

const PROVIDER = "local-oidc"
const ENCRYPTED = ["access_token", "refresh_token", "id_token"] as const

describe.each(PG_CELLS)("encryption at rest, %s store on real PostgreSQL", (cell) => {
  let database: TestDatabase
  let fixture: DatabaseFixture<unknown>
  let op: TestOidcProvider
  let app: AuthApp
  let codec: TokenEncryptionCodec
  let adapter: TokenSyncAdapter<Adapter>
  /** The same database without encryption: how rows looked before the feature. */
  let plainAdapter: TokenSyncAdapter<Adapter>

  beforeAll(async () => {
    database = await testDatabase(`enc_${cell}`)
    await applySchema(cell, database.url)
    fixture = await createFixture(cell, database.url)
    op = await startOidcProvider({ accessTokenTtl: 2, rotateRefreshToken: true })
    // As in the README: the key list comes from an environment variable.
    process.env.TEST_TOKEN_ENCRYPTION_KEYS = randomKeyString("2026-12", "2026-06")
    codec = tokenEncryption({ keys: process.env.TEST_TOKEN_ENCRYPTION_KEYS })
    const providerConfig = {
      id: PROVIDER,
      type: "oidc" as const,
      issuer: op.issuer,
      clientId: op.clientId,
      clientSecret: op.clientSecret,
    }
    adapter = withTokenSync(fixture.adapter, fixture.db as object, {
      codec,
      refresh: { providers: [providerConfig], skewSeconds: 0 },
    })
    plainAdapter = withTokenSync(fixture.adapter, fixture.db as object, {
      refresh: { providers: [providerConfig], skewSeconds: 0 },
    })
    app = await startAuthApp({
      provider: op,
      providerId: PROVIDER,
      session: "database",
      adapter,
      events: adapter.events,
    })
  }, 60_000)
  afterAll(async () => {
    await app?.stop()
    await op?.stop()
    await fixture?.close()
    await database?.drop()
    delete process.env.TEST_TOKEN_ENCRYPTION_KEYS
  })

  const rowOf = async (login: string) => {
    const rows = await fixture.accountRows({ provider: PROVIDER, providerAccountId: login })
    expect(rows).toHaveLength(1)
    return rows[0]!
  }
  const signIn = async (login: string) => {
    const result = await app.signIn(new Browser(), { login })
    expect({ ok: result.ok, trace: result.trace }).toEqual({ ok: true, trace: result.trace })
  }
  const waitForExpiry = async (login: string) => {
    const wait = Number((await rowOf(login)).expires_at) * 1000 - Date.now() + 50
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }

  test("after sign-ins and refreshes no token's plaintext is in any column nor in a dump, and every read path returns plaintext", async () => {
    const alice = `alice-${cell}`
    const bob = `bob-${cell}`
    await signIn(alice)
    await signIn(alice) // a returning sign-in: new tokens through events.signIn
    await signIn(bob)
    const userId = String((await rowOf(alice)).userId)

    await waitForExpiry(alice)
    const refreshed = await adapter.getAccessToken({ userId, provider: PROVIDER })
    expect(refreshed.refreshed).toBe(true)
    expect(refreshed.accessToken).toBe(op.lastIssued("access_token")!.value)
    expect(refreshed.account.refresh_token).toBe(op.lastIssued("refresh_token")!.value)
    // The fast path (no lock, no refresh) decrypts too.
    const fresh = await adapter.getAccessToken({ userId, provider: PROVIDER })
    expect({ refreshed: fresh.refreshed, accessToken: fresh.accessToken }).toEqual({
      refreshed: false,
      accessToken: refreshed.accessToken,
    })

    const row = await rowOf(alice)
    for (const field of ENCRYPTED) {
      expect(String(row[field]).startsWith(ENVELOPE_MARK)).toBe(true)
      expect(codec.keyIdOf(String(row[field]))).toBe("2026-12")
    }
    const idTokens = [alice, bob].map(async (login) =>
      codec.decode(String((await rowOf(login)).id_token), "id_token", { provider: PROVIDER, providerAccountId: login }),
    )
    // Prisma's and Drizzle's adapters have getAccount (Kysely's and pg's have none).
    expect(typeof fixture.adapter.getAccount === "function").toBe(cell === "prisma" || cell.startsWith("drizzle"))
    if (fixture.adapter.getAccount) {
      // The wrapped adapter's own getAccount reads the raw row: the wrapper decrypts it.
      const viaAdapter = await adapter.getAccount!(alice, PROVIDER)
      expect(viaAdapter).toMatchObject({
        access_token: refreshed.accessToken,
        refresh_token: refreshed.account.refresh_token,
      })
      expect(String(viaAdapter!.id_token)).toMatch(/^eyJ/)
    }

    expect(op.issued).toHaveLength(2 * 3 + 2) // an access and a refresh token for each of 3 sign-ins and 1 refresh
    const secrets = [...op.issued.map((t) => t.value), ...(await Promise.all(idTokens))]
    const copied = await copyEveryTable(fixture.pool)
    expect(copied).toContain(String(row.refresh_token)) // the copy does hold the account rows
    const dumpBinary = await findPgDump(fixture.pool)
    const dumps = [copied, ...(dumpBinary ? [await pgDump(dumpBinary, database.url)] : [])]
    for (const dump of dumps)
      for (const secret of secrets) expect(dump.includes(secret) ? `plaintext token in dump` : "absent").toBe("absent")
  }, 60_000)
  test("linkAccount returns plaintext and stores ciphertext; a plaintext row from before encryption is read as is and encrypted on its next write", async () => {
    const userId = await fixture.insertUser(`${randomUUID()}@example.test`)
    const key = { provider: "legacy-oidc", providerAccountId: randomUUID() }
    const expiresAt = Math.floor(Date.now() / 1000) + 3600
    await plainAdapter.linkAccount({
      ...key,
      userId,
      type: "oidc",
      access_token: "legacy-at",
      refresh_token: "legacy-rt",
      expires_at: expiresAt,
    } as AdapterAccount)
    expect((await fixture.accountRows(key))[0]).toMatchObject({ access_token: "legacy-at", refresh_token: "legacy-rt" })

    // Read as plaintext through every path.
    const { accessToken } = await withTokenSync(fixture.adapter, fixture.db as object, {
      codec,
      refresh: {
        providers: [
          { id: key.provider, type: "oidc", issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret },
        ],
      },
    }).getAccessToken({ userId, provider: key.provider })
    expect(accessToken).toBe("legacy-at")
    if (adapter.getAccount)
      expect(await adapter.getAccount(key.providerAccountId, key.provider)).toMatchObject({
        access_token: "legacy-at",
        refresh_token: "legacy-rt",
      })

    // The next write (a sign-in bringing only a new access token) encrypts the whole row.
    const synced = await adapter.syncAccount({ ...key, access_token: "new-at" })
    expect(synced).toMatchObject({ access_token: "new-at", refresh_token: "legacy-rt" })
    const [row] = await fixture.accountRows(key)
    expect(codec.keyIdOf(String(row!.access_token))).toBe("2026-12")
    expect(codec.keyIdOf(String(row!.refresh_token))).toBe("2026-12")
    expect(codec.decode(String(row!.refresh_token), "refresh_token", key)).toBe("legacy-rt")

    // linkAccount's result is plaintext; the row is not.
    const otherUser = await fixture.insertUser(`${randomUUID()}@example.test`)
    const otherKey = { provider: "legacy-oidc", providerAccountId: randomUUID() }
    const linked = await adapter.linkAccount({
      ...otherKey,
      userId: otherUser,
      type: "oidc",
      access_token: "at-link",
      refresh_token: "rt-link",
    } as AdapterAccount)
    // @auth/drizzle-adapter's linkAccount resolves to nothing, and so does the wrapped one (a drop-in).
    if (cell.startsWith("drizzle")) expect(linked).toBeUndefined()
    else expect(linked).toMatchObject({ access_token: "at-link", refresh_token: "rt-link" })
    const [linkedRow] = await fixture.accountRows(otherKey)
    expect(String(linkedRow!.refresh_token)).not.toContain("rt-link")
    expect(codec.decode(String(linkedRow!.refresh_token), "refresh_token", otherKey)).toBe("rt-link")

    // unlinkAccount's result (Prisma returns the deleted row) is plaintext too.
    if (cell === "prisma") {
      expect(await adapter.unlinkAccount!(otherKey)).toMatchObject({
        access_token: "at-link",
        refresh_token: "rt-link",
      })
    }
  }, 30_000)
})
