/**
 * `tokenEncryption({ refusePlaintext: true })`: once every row is encrypted, a plaintext value planted in
 * the table by someone who can write to it but has no key is refused with a typed error, never returned as
 * the access token. Without the option it is returned as it is (plaintext counts as a row from before
 * encryption). Real PostgreSQL, signed in through the encrypting adapter at the real oidc-provider.
 */
import { describe, expect, test } from "@jest/globals"
import { randomBytes } from "node:crypto"
import {
  EncryptionConfigError,
  reencryptAccounts,
  TokenDecryptionError,
  tokenEncryption,
  withTokenSync,
} from "authjs-adapter-refresh"
import { SCHEMA_TABLES } from "../../src/fixtures/databases.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, useRefreshScenario } from "../refresh/scenario-hooks.js"

const keys = [{ id: "2026-12", key: randomBytes(32) }]
const PLANTED = "planted-access-token-of-an-attacker"

describe("refusePlaintext (pg store, real PostgreSQL, real oidc-provider)", () => {
  let s: RefreshScenario

  useRefreshScenario(
    "encryption_refuse_plaintext",
    { cell: "pg", login: "refuse-plaintext-user", codec: tokenEncryption({ keys }) },
    (started) => {
      ;({ s } = started)
    },
  )

  const adapterWith = (refusePlaintext: boolean) =>
    withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      codec: tokenEncryption({ keys, refusePlaintext }),
      refresh: { providers: [s.providerConfig], skewSeconds: 0, minRefreshIntervalSeconds: 0 },
    })

  test("a planted plaintext token is refused (TokenDecryptionError); without the option, returned", async () => {
    expect(String((await s.row()).access_token)).toMatch(/^\u00a7enc:v1:/) // every row encrypted
    // Someone with write access to the table, but no key, plants a token that looks fresh.
    await s.fixture.pool.query(
      `UPDATE ${SCHEMA_TABLES.pg.accounts} SET access_token = $3, expires_at = $4
       WHERE provider = $1 AND "providerAccountId" = $2`,
      [s.key.provider, s.key.providerAccountId, PLANTED, Math.floor(Date.now() / 1000) + 3600],
    )
    const ask = { userId: s.userId, provider: s.key.provider }

    const error = await rejection(adapterWith(true).getAccessToken(ask))

    expect(error).toBeInstanceOf(TokenDecryptionError)
    expect(error).toMatchObject({ code: "TOKEN_DECRYPTION_FAILED", reason: "plaintext", field: "access_token" })
    expect((error as Error).message).not.toContain(PLANTED)
    expect((await s.row()).access_token).toBe(PLANTED) // nothing written

    // reencryptAccounts with the refusing codec reports the planted value instead of encrypting it.
    const reencrypted = await reencryptAccounts(s.fixture.db as object, {
      codec: tokenEncryption({ keys, refusePlaintext: true }),
    })
    expect(reencrypted.failures).toEqual([{ ...s.key, field: "access_token", reason: "plaintext" }])
    expect((await s.row()).access_token).toBe(PLANTED)

    // Control: the same keys without the option take the plaintext for a row from before encryption.
    expect((await adapterWith(false).getAccessToken(ask)).accessToken).toBe(PLANTED)
  })

  test("refusePlaintext must be a boolean (EncryptionConfigError)", () => {
    expect(() => tokenEncryption({ keys, refusePlaintext: "yes" as unknown as boolean })).toThrow(EncryptionConfigError)
  })
})
