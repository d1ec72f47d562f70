/**
 * Stored rows as the sync reads them (src/account-rows.ts): the token columns taken from a row, decrypted
 * strictly or leniently with a fake codec, and the account Auth.js sees. No database.
 */
import { describe, expect, test } from "@jest/globals"
import { keyOfRow, lenientViewOf, toAdapterAccount, viewOf, type RowReading } from "../src/account-rows.js"
import type { TokenCodec } from "../src/codec.js"
import { TokenDecryptionError } from "../src/errors.js"
import type { StoredAccountRow } from "../src/store.js"

/** "enc:<value>" decrypts to the value, bound to the account; anything else fails to decrypt. */
const codec: TokenCodec = {
  fields: ["access_token", "refresh_token"],
  encode: (value) => `enc:${value}`,
  decode: (stored, field, account) => {
    if (!stored.startsWith("enc:")) throw new TokenDecryptionError(field, account?.provider, undefined, "malformed")
    return stored.slice(4)
  },
}
const reading: RowReading = { columns: ["access_token", "refresh_token", "expires_at", "scope"], codec }
const rowOf = (tokens: Record<string, unknown>): StoredAccountRow =>
  ({ userId: "u1", type: "oauth", provider: "acme", providerAccountId: "p1", tokens }) as StoredAccountRow

describe("account rows", () => {
  test("toAdapterAccount: the row's identity and its non-null columns", () => {
    const account = toAdapterAccount(rowOf({}), { access_token: "a", refresh_token: null, expires_at: 10 })
    expect(account).toEqual({
      userId: "u1",
      type: "oauth",
      provider: "acme",
      providerAccountId: "p1",
      access_token: "a",
      expires_at: 10,
    })
    expect(keyOfRow(rowOf({}))).toEqual({ provider: "acme", providerAccountId: "p1" })
  })

  test("viewOf takes only the sync's columns and decrypts the codec's", async () => {
    const row = rowOf({ access_token: "enc:a", refresh_token: "enc:r", scope: "openid", other: "x" })
    const view = await viewOf(reading, row)
    expect(view.row).toBe(row)
    expect(view.tokens).toEqual({ access_token: "a", refresh_token: "r", expires_at: null, scope: "openid" })
  })

  test("a value that fails to decrypt: viewOf throws, lenientViewOf reads it as null and names it", async () => {
    const row = rowOf({ access_token: "enc:a", refresh_token: "lost-key" })
    await expect(viewOf(reading, row)).rejects.toBeInstanceOf(TokenDecryptionError)
    const view = await lenientViewOf(reading, row)
    expect(view.tokens).toMatchObject({ access_token: "a", refresh_token: null })
    expect(view.undecryptable).toEqual(["refresh_token"])
  })

  test("without a codec the stored values are read as they are", async () => {
    const view = await viewOf({ ...reading, codec: undefined }, rowOf({ access_token: "plain", expires_at: "42" }))
    expect(view.tokens).toMatchObject({ access_token: "plain", refresh_token: null })
  })
})
