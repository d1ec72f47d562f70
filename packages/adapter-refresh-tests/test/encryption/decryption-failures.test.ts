/**
 * Stored values that do not decrypt, on real PostgreSQL with each store: altered ciphertext, a truncated
 * envelope, a value copied from another row, a wrong key under the right id, a key no longer configured.
 * Every read path fails with a typed `TokenDecryptionError` that carries no token and no key, nothing is
 * sent to the provider, and the stored row is left byte for byte as it was. A sign-in that brings new
 * tokens may replace an undecryptable value (the provider's new token is authoritative) but never a
 * column it does not bring.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { randomBytes, randomUUID } from "node:crypto"
import { inspect } from "node:util"
import type { AdapterAccount } from "@auth/core/adapters"
import {
  TokenDecryptionError,
  tokenEncryption,
  withTokenSync,
  type TokenDecryptionFailure,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import {
  applySchema,
  createFixture,
  PG_CELLS,
  SCHEMA_TABLES,
  type DatabaseFixture,
} from "../../src/fixtures/databases.js"

const PROVIDER = "enc-oidc"
const current = { id: "2026-12", key: randomBytes(32) }
const older = { id: "2026-06", key: randomBytes(32) }
const secretsOfKeys = [current.key, older.key].flatMap((key) => [
  key.toString("base64"),
  key.toString("base64url"),
  key.toString("hex"),
])

async function decryptionError(run: () => unknown): Promise<TokenDecryptionError> {
  const error = await Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (caught: unknown) => caught,
    )
  expect(error).toBeInstanceOf(TokenDecryptionError)
  return error as TokenDecryptionError
}

describe.each(PG_CELLS)("undecryptable stored tokens, %s store on real PostgreSQL", (cell) => {
  let database: TestDatabase
  let fixture: DatabaseFixture<unknown>
  let op: TestOidcProvider
  const { accounts } = SCHEMA_TABLES[cell]
  const wrap = (keys: { id: string; key: Buffer }[]): TokenSyncAdapter =>
    withTokenSync(fixture.adapter, fixture.db as object, {
      codec: tokenEncryption({ keys }),
      refresh: {
        providers: [
          { id: PROVIDER, type: "oidc", issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret },
        ],
        skewSeconds: 0,
      },
    })

  beforeAll(async () => {
    database = await testDatabase(`encfail_${cell}`)
    await applySchema(cell, database.url)
    fixture = await createFixture(cell, database.url)
    op = await startOidcProvider({ accessTokenTtl: 60 })
  }, 60_000)
  afterAll(async () => {
    await op?.stop()
    await fixture?.close()
    await database?.drop()
  })

  /** A linked account whose tokens were encrypted under `keys`; returns its key, owner and plaintext tokens. */
  async function linked(keys: { id: string; key: Buffer }[], expired: boolean) {
    const userId = await fixture.insertUser(`${randomUUID()}@example.test`)
    const key = { provider: PROVIDER, providerAccountId: randomUUID() }
    const tokens = {
      access_token: `at-${randomUUID()}`,
      refresh_token: `rt-${randomUUID()}`,
      id_token: `idt-${randomUUID()}`,
    }
    const expires_at = Math.floor(Date.now() / 1000) + (expired ? -10 : 3600)
    await wrap(keys).linkAccount({ ...key, userId, type: "oidc", ...tokens, expires_at } as AdapterAccount)
    return { userId, key, tokens }
  }
  const rowOf = async (key: { provider: string; providerAccountId: string }) => (await fixture.accountRows(key))[0]!
  const setColumn = (key: { provider: string; providerAccountId: string }, column: string, value: string) =>
    fixture.pool.query(`UPDATE ${accounts} SET "${column}" = $3 WHERE "provider" = $1 AND "providerAccountId" = $2`, [
      key.provider,
      key.providerAccountId,
      value,
    ])
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1)

  type Case = {
    name: string
    reason: TokenDecryptionFailure
    field: string
    corrupt(key: { provider: string; providerAccountId: string }): Promise<void>
    reader: () => TokenSyncAdapter
  }
  const cases: Case[] = [
    {
      name: "ciphertext altered",
      reason: "authentication_failed",
      field: "refresh_token",
      corrupt: async (key) => {
        const stored = String((await rowOf(key)).refresh_token)
        await setColumn(key, "refresh_token", flip(stored, stored.length - 10))
      },
      reader: () => wrap([current]),
    },
    {
      name: "envelope truncated",
      reason: "malformed",
      field: "access_token",
      corrupt: async (key) => {
        const stored = String((await rowOf(key)).access_token)
        await setColumn(key, "access_token", stored.slice(0, stored.lastIndexOf(":") + 8))
      },
      reader: () => wrap([current]),
    },
    {
      name: "value copied from another row",
      reason: "authentication_failed",
      field: "refresh_token",
      corrupt: async (key) => {
        const other = await linked([current], false)
        await setColumn(key, "refresh_token", String((await rowOf(other.key)).refresh_token))
      },
      reader: () => wrap([current]),
    },
    {
      name: "a different key under the same id",
      reason: "authentication_failed",
      field: "access_token",
      corrupt: async () => {},
      reader: () => wrap([{ id: current.id, key: randomBytes(32) }]),
    },
    {
      name: "the key that sealed it is no longer configured",
      reason: "unknown_key",
      field: "access_token",
      corrupt: async () => {},
      reader: () => wrap([older]),
    },
  ]

  test.each(cases)(
    "$name: getAccessToken (fresh and expired) and getAccount throw " +
      "a typed error that leaks nothing; nothing is sent or written",
    async ({ reason, field, corrupt, reader }) => {
      for (const expired of [false, true]) {
        const { userId, key, tokens } = await linked([current], expired)
        await corrupt(key)
        const before = await rowOf(key)
        const grants = op.stats.refreshGrants
        const adapter = reader()
        const failures = [await decryptionError(() => adapter.getAccessToken({ userId, provider: PROVIDER }))]
        if (adapter.getAccount)
          failures.push(await decryptionError(() => adapter.getAccount!(key.providerAccountId, PROVIDER)))
        for (const error of failures) {
          expect(error).toMatchObject({ code: "TOKEN_DECRYPTION_FAILED", reason, field, provider: PROVIDER })
          const shown = `${inspect(error, { depth: 5 })} ${JSON.stringify(error)} ${error.stack}`
          for (const secret of [...Object.values(tokens), ...secretsOfKeys, String(before[field]).slice(-30)])
            expect(shown).not.toContain(secret)
        }
        expect(op.stats.refreshGrants).toBe(grants)
        expect(await rowOf(key)).toEqual(before)
      }
    },
  )
  test("a sign-in over an undecryptable row replaces only the columns it brings; one it does not bring is left byte for byte", async () => {
    const { key, tokens } = await linked([current], false)
    const stored = String((await rowOf(key)).refresh_token)
    const tampered = flip(stored, stored.length - 10)
    await setColumn(key, "refresh_token", tampered)
    const adapter = wrap([current])

    // Google-like returning sign-in: a new access token, no refresh token.
    const synced = await adapter.syncAccount({ ...key, access_token: "at-new" })
    expect(synced).toMatchObject({ access_token: "at-new", id_token: tokens.id_token })
    expect(synced).not.toHaveProperty("refresh_token")
    const afterFirst = await rowOf(key)
    expect(afterFirst.refresh_token).toBe(tampered)
    expect(tokenEncryption({ keys: [current] }).decode(String(afterFirst.access_token), "access_token", key)).toBe(
      "at-new",
    )

    // A sign-in that brings a refresh token: the provider's new token is authoritative and replaces it.
    expect(await adapter.syncAccount({ ...key, access_token: "at-newer", refresh_token: "rt-new" })).toMatchObject({
      refresh_token: "rt-new",
    })
    const { accessToken, account } = await adapter.getAccessToken({
      userId: String(afterFirst.userId),
      provider: PROVIDER,
    })
    expect({ accessToken, refresh_token: account.refresh_token }).toEqual({
      accessToken: "at-newer",
      refresh_token: "rt-new",
    })
  })
})
