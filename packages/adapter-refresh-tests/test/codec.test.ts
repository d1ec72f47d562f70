import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { randomUUID } from "node:crypto"
import type { AdapterAccount } from "@auth/core/adapters"
import { inspect } from "node:util"
import { TokenCodecError, withTokenSync, type TokenCodec, type TokenSyncAdapter } from "authjs-adapter-refresh"
import { applySchema, createKyselyFixture, type DatabaseFixture } from "../src/fixtures/databases.js"
import { testDatabase, type TestDatabase } from "../src/harness/postgres.js"

/** A reversible codec that makes encoded values recognisable in the row (stand-in for real encryption). */
const codec = {
  fields: ["access_token", "refresh_token"],
  encode: (value: string, _field?: string) => `enc:${Buffer.from(value).toString("base64url")}`,
  decode: (stored: string, _field?: string) => Buffer.from(stored.replace(/^enc:/, ""), "base64url").toString(),
} satisfies TokenCodec

describe("token codec seam (encryption at rest), Kysely on real PostgreSQL", () => {
  let database: TestDatabase
  let fixture: DatabaseFixture<unknown>
  let adapter: TokenSyncAdapter

  beforeAll(async () => {
    database = await testDatabase("codec")
    await applySchema("kysely", database.url)
    fixture = await createKyselyFixture(database.url)
    adapter = withTokenSync(fixture.adapter, fixture.db as object, { codec })
  })
  afterAll(async () => {
    await fixture?.close()
    await database?.drop()
  })

  test("stores the codec's fields encoded, returns them decoded, and merges on plaintext", async () => {
    const userId = await fixture.insertUser(`${randomUUID()}@example.test`)
    const key = { provider: "codec-oidc", providerAccountId: randomUUID() }
    const linked = await adapter.linkAccount({
      ...key,
      userId,
      type: "oidc",
      access_token: "at-1",
      refresh_token: "rt-1",
      scope: "openid",
    } as AdapterAccount)
    expect(linked).toMatchObject({ access_token: "at-1", refresh_token: "rt-1" })

    const [row] = await fixture.accountRows(key)
    expect(row).toMatchObject({
      access_token: codec.encode("at-1", "access_token"),
      refresh_token: codec.encode("rt-1", "refresh_token"),
      scope: "openid",
    })

    // A returning sign-in without a refresh token: the encoded refresh token is kept, not re-encoded or lost.
    const synced = await adapter.syncAccount({ ...key, access_token: "at-2" })
    expect(synced).toMatchObject({ access_token: "at-2", refresh_token: "rt-1" })
    const [after] = await fixture.accountRows(key)
    expect(after).toMatchObject({
      access_token: codec.encode("at-2", "access_token"),
      refresh_token: codec.encode("rt-1", "refresh_token"),
    })
  })

  describe("a codec that fails: a typed error naming the column, never the value, and nothing written", () => {
    const SECRET = "sekrit-token-value"
    type Failure = { throws: true } | { returns: unknown }
    /** A codec whose `direction` throws an error quoting the value (as a careless codec might), or returns junk. */
    const failing = (direction: "encode" | "decode", failure: Failure = { throws: true }): TokenCodec => {
      const fail = (plain: string): string => {
        if ("returns" in failure) return failure.returns as string
        throw new RangeError(`cannot ${direction} ${plain}`)
      }
      return {
        fields: ["access_token", "refresh_token"],
        encode: (value, field) => (direction === "encode" ? fail(value) : codec.encode(value, field)),
        decode: (stored, field) =>
          direction === "decode" ? fail(codec.decode(stored, field)) : codec.decode(stored, field),
      }
    }
    const provider = {
      id: "codec-oidc",
      type: "oidc" as const,
      clientId: "client",
      clientSecret: "secret",
      // Never contacted: every token in these tests is fresh.
      token: "http://127.0.0.1:9/token",
    }
    const linkWith = async (tokens: Record<string, unknown> = {}) => {
      const userId = await fixture.insertUser(`${randomUUID()}@example.test`)
      const key = { provider: "codec-oidc", providerAccountId: randomUUID() }
      const expires_at = Math.floor(Date.now() / 1000) + 3600
      await adapter.linkAccount({
        ...key,
        userId,
        type: "oidc",
        access_token: SECRET,
        refresh_token: `rt-${SECRET}`,
        expires_at,
        ...tokens,
      } as AdapterAccount)
      return { userId, key }
    }
    const expectCodecError = (failure: unknown, field: string, direction: "encode" | "decode") => {
      expect(failure).toBeInstanceOf(TokenCodecError)
      expect(failure).toMatchObject({ field, direction, code: "TOKEN_CODEC_FAILED" })
      const text = `${inspect(failure, { depth: 10 })}${JSON.stringify(failure)}${String(failure)}`
      expect(text).not.toContain(SECRET)
    }

    test("decode throws on the refresh fast path (getAccessToken of a fresh token)", async () => {
      const { userId } = await linkWith()
      const broken = withTokenSync(fixture.adapter, fixture.db as object, {
        codec: failing("decode"),
        refresh: { providers: [provider] },
      })
      const failure = await broken.getAccessToken({ userId, provider: "codec-oidc" }).catch((error: unknown) => error)
      expectCodecError(failure, "access_token", "decode")
    })

    test("decode returns a non-string under the lock (a returning sign-in): refused, the row unchanged", async () => {
      const { userId, key } = await linkWith()
      const before = await fixture.accountRows(key)
      const broken = withTokenSync(fixture.adapter, fixture.db as object, { codec: failing("decode", { returns: 42 }) })
      const failure = await broken
        .syncAccount({ ...key, userId, access_token: "at-new" })
        .catch((error: unknown) => error)
      expectCodecError(failure, "access_token", "decode")
      expect(await fixture.accountRows(key)).toEqual(before)
    })

    test.each<[string, Failure]>([
      ["throws", { throws: true }],
      ["returns undefined", { returns: undefined }],
      ["returns a number", { returns: 7 }],
    ])("encode %s on link: refused, nothing written", async (_label, behaviour) => {
      const broken = withTokenSync(fixture.adapter, fixture.db as object, { codec: failing("encode", behaviour) })
      const userId = await fixture.insertUser(`${randomUUID()}@example.test`)
      const key = { provider: "codec-oidc", providerAccountId: randomUUID() }
      const failure = await broken
        .linkAccount({ ...key, userId, type: "oidc", access_token: SECRET } as AdapterAccount)
        .catch((error: unknown) => error)
      expectCodecError(failure, "access_token", "encode")
      expect(await fixture.accountRows(key)).toEqual([])
    })
  })
})
