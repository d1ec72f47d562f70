/**
 * End to end, DynamoDB cell: `withTokenSync(DynamoDBAdapter(client, options), dynamoDbAccountStore(client,
 * options), { refresh: { coordination: "lease" } })` through the real Auth.js handler, the real oidc-provider
 * and dynalite (database sessions, in the adapter's single table). Control: the bare adapter keeps a returning
 * sign-in's first tokens.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals"
import { DynamoDBAdapter } from "@auth/dynamodb-adapter"
import { withTokenSync } from "authjs-adapter-refresh"
import { dynamoDbAccountStore } from "authjs-adapter-refresh/stores/dynamodb"
import { startAuthApp, type AuthApp, type SignInResult } from "../../../src/harness/auth-app.js"
import { Browser } from "../../../src/harness/browser.js"
import {
  createAdapterTable,
  dynamoDocument,
  testDynamoTable,
  type TestDynamoTable,
} from "../../../src/harness/dynalite.js"
import { startOidcProvider, type IssuedTokenKind, type TestOidcProvider } from "../../../src/harness/oidc-provider.js"

const PROVIDER = "local-oidc"
const TABLE = "e2e"

describe("e2e @auth/dynamodb-adapter on dynalite (database sessions, lease mode)", () => {
  let table: TestDynamoTable
  let client: ReturnType<typeof dynamoDocument>
  const running: Array<{ stop(): Promise<void> }> = []
  const start = async <T extends { stop(): Promise<void> }>(thing: Promise<T>): Promise<T> => {
    const started = await thing
    running.push(started)
    return started
  }

  beforeAll(async () => {
    table = await testDynamoTable(TABLE)
    await createAdapterTable(table.url)
    client = dynamoDocument(table.url)
  }, 30_000)
  afterEach(async () => {
    while (running.length) await running.pop()?.stop()
  })
  afterAll(async () => {
    client?.destroy()
    await table?.drop()
  })

  const options = { tableName: TABLE }
  const wrapped = (op: TestOidcProvider, refreshing = false) => {
    const app = startAuthApp({ provider: op, providerId: PROVIDER, session: "database" })
    return app.then((started) => {
      const adapter = withTokenSync(DynamoDBAdapter(client, options), dynamoDbAccountStore(client, options), {
        refresh: {
          providers: refreshing
            ? [{ id: PROVIDER, type: "oidc", issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret }]
            : [],
          coordination: "lease",
          skewSeconds: 0,
        },
      })
      started.config.adapter = adapter
      started.config.events = adapter.events
      running.push(started)
      return { app: started, adapter }
    })
  }
  const bare = (op: TestOidcProvider): Promise<AuthApp> =>
    start(
      startAuthApp({
        provider: op,
        providerId: PROVIDER,
        session: "database",
        adapter: DynamoDBAdapter(client, options),
      }),
    )
  const issued = (op: TestOidcProvider, login: string, kind: IssuedTokenKind) =>
    op.issued.filter((t) => t.kind === kind && t.accountId === login).map((t) => t.value)
  const rowOf = async (login: string) => {
    const { Items } = await client.query({
      TableName: TABLE,
      IndexName: "GSI1",
      KeyConditionExpression: "GSI1PK = :gpk AND GSI1SK = :gsk",
      ExpressionAttributeValues: { ":gpk": `ACCOUNT#${PROVIDER}`, ":gsk": `ACCOUNT#${login}` },
    })
    expect(Items).toHaveLength(1)
    return Items![0]!
  }
  const expectOk = (result: SignInResult) =>
    expect({ ok: result.ok, trace: result.trace }).toEqual({ ok: true, trace: result.trace })

  test("sign-in, a returning sign-in's new tokens stored (control: the bare adapter keeps the first), getAccessToken refreshes after expiry", async () => {
    const op = await start(startOidcProvider({ accessTokenTtl: 60, rotateRefreshToken: true }))
    const { app, adapter } = await wrapped(op, true)
    const control = await bare(op)
    const login = "dyn-user"
    expectOk(await app.signIn(new Browser(), { login }))
    expectOk(await app.signIn(new Browser(), { login }))
    expectOk(await control.signIn(new Browser(), { login: "dyn-control" }))
    expectOk(await control.signIn(new Browser(), { login: "dyn-control" }))

    const [at1, at2] = issued(op, login, "access_token")
    const [, rt2] = issued(op, login, "refresh_token")
    const row = await rowOf(login)
    expect({ access_token: row.access_token, refresh_token: row.refresh_token }).toEqual({
      access_token: at2,
      refresh_token: rt2,
    })
    expect(row.access_token).not.toBe(at1)
    // The bare adapter reads what the store wrote.
    const user = await DynamoDBAdapter(client, options).getUserByAccount!({
      provider: PROVIDER,
      providerAccountId: login,
    })
    expect(user?.id).toBe(row.userId)
    const [c1, c2] = issued(op, "dyn-control", "access_token")
    const controlRow = await rowOf("dyn-control")
    expect(controlRow.access_token).toBe(c1)
    expect(controlRow.access_token).not.toBe(c2)

    // Expired: getAccessToken refreshes once (lease mode) and stores the rotated tokens.
    await client.update({
      TableName: TABLE,
      Key: { pk: row.pk, sk: row.sk },
      UpdateExpression: "SET expires_at = :past",
      ExpressionAttributeValues: { ":past": Math.floor(Date.now() / 1000) - 10 },
    })
    const grants = op.stats.refreshGrants
    const token = await adapter.getAccessToken({ userId: String(row.userId), provider: PROVIDER })
    expect(token.refreshed).toBe(true)
    expect(op.stats.refreshGrants - grants).toBe(1)
    const after = await rowOf(login)
    expect(after.access_token).toBe(token.accessToken)
    expect(after.refresh_token).not.toBe(rt2)
    expect((await op.userinfo(token.accessToken)).status).toBe(200)
    expect([...app.errorMessages(), ...control.errorMessages()]).toEqual([])
  }, 60_000)
})
