import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { randomUUID } from "node:crypto"
import type { AdapterAccount } from "@auth/core/adapters"
import { withTokenSync, type TokenCodec, type TokenSyncAdapter } from "authjs-adapter-refresh"
import { applySchema, createKyselyFixture, type DatabaseFixture } from "../src/fixtures/databases.js"
import { testDatabase, type TestDatabase } from "../src/harness/postgres.js"

/** A reversible codec that makes encoded values recognisable in the row (stand-in for real encryption). */
const codec: TokenCodec = {
  fields: ["access_token", "refresh_token"],
  encode: (value) => `enc:${Buffer.from(value).toString("base64url")}`,
  decode: (stored) => Buffer.from(stored.replace(/^enc:/, ""), "base64url").toString(),
}

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
    const linked = await adapter.linkAccount({ ...key, userId, type: "oidc", access_token: "at-1", refresh_token: "rt-1", scope: "openid" } as AdapterAccount)
    expect(linked).toMatchObject({ access_token: "at-1", refresh_token: "rt-1" })

    const [row] = await fixture.accountRows(key)
    expect(row).toMatchObject({ access_token: codec.encode("at-1", "access_token"), refresh_token: codec.encode("rt-1", "refresh_token"), scope: "openid" })

    // A returning sign-in without a refresh token: the encoded refresh token is kept, not re-encoded or lost.
    const synced = await adapter.syncAccount({ ...key, access_token: "at-2" })
    expect(synced).toMatchObject({ access_token: "at-2", refresh_token: "rt-1" })
    const [after] = await fixture.accountRows(key)
    expect(after).toMatchObject({ access_token: codec.encode("at-2", "access_token"), refresh_token: codec.encode("rt-1", "refresh_token") })
  })
})
