// The library as an app uses it, from the installed tarball: withTokenSync over the real @auth/pg-adapter on a
// real PostgreSQL (started by the kit's optional helper); a returning sign-in's fresh tokens must be stored.
import assert from "node:assert/strict"
import { readFile } from "node:fs/promises"
import PostgresAdapter from "@auth/pg-adapter"
import pg from "pg"
import { TokenSyncError, withTokenSync } from "authjs-adapter-refresh"
import { pgAccountStore } from "authjs-adapter-refresh/stores/pg"
import { createDatabase, startPostgres } from "authjs-adapter-refresh-tests/postgres"

const server = await startPostgres()
const database = await createDatabase(server.url, "smoke")
const pool = new pg.Pool({ connectionString: database.url })
try {
  await pool.query(await readFile(new URL("./pg.sql", import.meta.url), "utf8"))
  const adapter = withTokenSync(PostgresAdapter(pool), pool)
  assert.equal(adapter.accountStore.name, pgAccountStore(pool).name)

  const user = await adapter.createUser({ id: "ignored", email: "smoke@example.test", emailVerified: null })
  const key = { provider: "smoke-oidc", providerAccountId: "sub-1" }
  const expiresAt = Math.floor(Date.now() / 1000) + 3600
  await adapter.linkAccount({
    ...key,
    userId: user.id,
    type: "oidc",
    access_token: "at.first",
    refresh_token: "rt.first",
    expires_at: expiresAt,
  })
  // A returning sign-in: Auth.js hands the new tokens only to events.signIn.
  await adapter.events.signIn({
    user,
    account: { ...key, type: "oidc", access_token: "at.second", expires_at: expiresAt + 60 },
    isNewUser: false,
  })
  const { rows } = await pool.query(`SELECT access_token, refresh_token FROM accounts WHERE "providerAccountId" = $1`, [
    key.providerAccountId,
  ])
  assert.deepEqual(rows, [{ access_token: "at.second", refresh_token: "rt.first" }])

  assert.throws(
    () => withTokenSync(PostgresAdapter(pool), {}),
    (error) => error instanceof TokenSyncError && typeof error.code === "string",
  )
  console.log(`smoke: withTokenSync over @auth/pg-adapter stored a returning sign-in's tokens (${server.backend})`)
} finally {
  await pool.end()
  await database.drop()
  await server.stop()
}
