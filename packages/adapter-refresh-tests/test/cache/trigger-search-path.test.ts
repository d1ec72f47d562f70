/**
 * The NOTIFY trigger of `pgNotifyTriggerSql` runs with the rights of whoever writes an account row. On real
 * PostgreSQL 15: a second, unprivileged role with CREATE on a schema that is on the writer's search_path
 * plants functions shadowing what a trigger might call on the row (to_jsonb on the accounts row type,
 * format), each copying the row's access token into a table it reads. The installed trigger must reach
 * none of them (pinned search_path, qualified calls, only the user id column read), and still notify.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { pgNotifyTriggerSql } from "authjs-adapter-refresh"
import { applySchema, createPgFixture, type DatabaseFixture } from "../../src/fixtures/databases.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"

describe("pgNotifyTriggerSql: a function planted on the writer's search_path sees no token", () => {
  let database: TestDatabase
  let fixture: DatabaseFixture<pg.Pool>
  let writer: pg.Pool
  let userId: string
  // Roles are cluster-wide: a name of its own per run.
  const mallory = `mallory_${randomBytes(4).toString("hex")}`

  /** Runs `sql` as the unprivileged role on one connection of the owner's pool. */
  async function asMallory<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await fixture.pool.connect()
    try {
      await client.query(`SET ROLE ${mallory}`)
      return await work(client)
    } finally {
      await client.query("RESET ROLE")
      client.release()
    }
  }

  beforeAll(async () => {
    database = await testDatabase("token_cache_trigger_path")
    await applySchema("pg", database.url)
    fixture = await createPgFixture(database.url)
    userId = await fixture.insertUser("path@example.com")
    await fixture.pool.query(
      `INSERT INTO accounts ("userId", type, provider, "providerAccountId", access_token, expires_at)
       VALUES ($1, 'oidc', 'oidc', 'sub-1', 'token-0', 4102444800)`,
      [userId],
    )
    // A schema the second role may create in, first on the writer's search_path (as "public" was for
    // every role before PostgreSQL 15).
    await fixture.pool.query(`CREATE ROLE ${mallory} NOLOGIN`)
    await fixture.pool.query(`CREATE SCHEMA shared`)
    await fixture.pool.query(`GRANT USAGE, CREATE ON SCHEMA shared TO ${mallory}`)
    await asMallory(async (client) => {
      await client.query(`CREATE TABLE shared.loot (token text)`)
      await client.query(`GRANT INSERT ON shared.loot TO PUBLIC`)
      await client.query(`
        CREATE FUNCTION shared.to_jsonb(r public.accounts) RETURNS jsonb LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO shared.loot VALUES (r.access_token);
          RETURN pg_catalog.to_jsonb(r);
        END $$`)
      await client.query(`
        CREATE FUNCTION shared.format(f text, a text) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO shared.loot VALUES ('format called');
          RETURN pg_catalog.format(f, a);
        END $$`)
    })
    writer = new pg.Pool({ connectionString: database.url, options: "-c search_path=shared,public" })
    writer.on("error", () => {})
  }, 60_000)
  afterAll(async () => {
    await writer?.end()
    await fixture?.close()
    await database?.drop()
    // The role owns objects only in the dropped database.
    const admin = new pg.Client({ connectionString: process.env.AUTHJS_REFRESH_TEST_PG_URL })
    await admin.connect()
    await admin.query(`DROP ROLE IF EXISTS ${mallory}`).catch(() => {})
    await admin.end()
  })

  test("a writer with the planted functions on its search_path: none is reached, the NOTIFY still is", async () => {
    await fixture.pool.query(pgNotifyTriggerSql({ accountsTable: "accounts" }))
    const listener = await fixture.pool.connect()
    try {
      const heard: string[] = []
      listener.on("notification", (message) => heard.push(message.payload ?? ""))
      await listener.query("LISTEN authjs_token_cache")
      await writer.query(`UPDATE accounts SET access_token = 'secret-planted-1' WHERE "userId" = $1`, [userId])
      const deadline = Date.now() + 2_000
      while (heard.length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      // The old and the new row's user: the same here, and PostgreSQL folds equal notifications of one transaction.
      expect(heard).toEqual([`u:${userId}`])
    } finally {
      listener.release()
    }
    const loot = await asMallory((client) => client.query("SELECT token FROM shared.loot"))
    expect(loot.rows).toEqual([])
  })

  test("the installed function has a fixed search_path and serialises no row", async () => {
    const definition = await fixture.pool.query(
      `SELECT pg_get_functiondef('public.authjs_token_cache_notify'::regproc) AS source`,
    )
    const source = String(definition.rows[0].source)
    expect(source).toMatch(/SET search_path TO 'pg_catalog', 'pg_temp'/)
    expect(source).not.toMatch(/to_jsonb|row_to_json/)
  })
})
