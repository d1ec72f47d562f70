/**
 * What a link returns (src/link-result.ts) by the store's `linkAccountResult`, with a fake codec's ciphertext
 * in the inserted row: never a token in its stored form. Pure; no database.
 */
import { describe, expect, test } from "@jest/globals"
import type { AdapterAccount } from "../src/authjs-types.js"
import type { TokenCodec } from "../src/codec.js"
import { linkResultOf } from "../src/link-result.js"

const codecFake = { fields: ["access_token", "refresh_token"] } as unknown as TokenCodec
const incoming = { access_token: "a1", refresh_token: "r1" }
const stored = { provider: "acme", access_token: "a1" } as unknown as AdapterAccount

describe("linkResultOf", () => {
  test("absent: the account stored", () => {
    expect(linkResultOf(undefined, {}, { id: 1 }, incoming, undefined, stored)).toBe(stored)
  })

  test('"nothing": undefined', () => {
    expect(linkResultOf("nothing", {}, { id: 1 }, incoming, undefined, stored)).toBeUndefined()
  })

  test('"input": the input itself, with what the insert resolved to assigned onto it', () => {
    const input = { provider: "acme", access_token: "a1" }
    const result = linkResultOf("input", input, { id: "generated", scope: null }, incoming, undefined, stored)
    expect(result).toBe(input)
    expect(input).toEqual({ provider: "acme", access_token: "a1", id: "generated", scope: null })
    expect(linkResultOf("input", input, undefined, incoming, undefined, stored)).toBe(input)
  })

  test('"inserted-row": the row, with the codec\'s columns back in plaintext; without a row, the stored account', () => {
    const inserted = { id: 1, access_token: "enc:a1", refresh_token: "enc:r1", id_token: null }
    expect(linkResultOf("inserted-row", {}, inserted, { access_token: "a1" }, codecFake, stored)).toEqual({
      id: 1,
      access_token: "a1",
      refresh_token: null,
      id_token: null,
    })
    expect(linkResultOf("inserted-row", {}, undefined, incoming, codecFake, stored)).toBe(stored)
  })
})
