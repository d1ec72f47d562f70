/**
 * A conformance-kit worker process: builds the target's fixture from the database URL, waits for the
 * common "go" (runBarrierWorker), then runs all its operations concurrently and reports each outcome.
 */
import { pathToFileURL } from "node:url"
import type { AdapterAccount } from "@auth/core/adapters"
import { withTokenSync, type AccountStore } from "authjs-adapter-refresh"
import { errorLabel, runBarrierWorker } from "./barrier-worker.js"
import type { ConformanceFixtureModule } from "./fixture.js"
import type { OperationOutcome, WorkerConfig } from "./worker-protocol.js"

const wallClock = (): number => performance.timeOrigin + performance.now()
const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig

/** The "increment" operation: read the counter under the key's lock, write it plus one. */
async function increment(store: AccountStore, account: Record<string, unknown>): Promise<void> {
  const key = { provider: String(account.provider), providerAccountId: String(account.providerAccountId) }
  await store.withAccountLock(
    key,
    async (locked) => {
      const [row] = await locked.readAll()
      const counter = Number(/^n\.(\d+)$/.exec(String(row?.tokens.access_token))?.[1])
      if (!row || !Number.isSafeInteger(counter)) throw new Error("the account holds no counter")
      await locked.update({ tokens: { access_token: `n.${counter + 1}` } }, { userId: row.userId })
    },
    { lockTimeoutMs: 30_000 },
  )
}

await runBarrierWorker(
  async () => {
    const moduleUrl = config.fixtureModule.startsWith("file:")
      ? config.fixtureModule
      : pathToFileURL(config.fixtureModule).href
    const fixture = await ((await import(moduleUrl)) as ConformanceFixtureModule).createFixture(config.databaseUrl)
    if (config.mode === "bare" && !fixture.adapter.linkAccount) throw new Error("the bare adapter has no linkAccount")
    // Open the pool's connections before the burst, so the burst measures the operations, not connecting.
    await Promise.all(
      config.operations.slice(0, 5).map(() => fixture.accountRows({ provider: "-", providerAccountId: "-" })),
    )
    return { fixture, adapter: withTokenSync(fixture.adapter, fixture.db) }
  },
  ({ fixture, adapter }) =>
    Promise.all(
      config.operations.map(async (operation, index): Promise<OperationOutcome> => {
        const startedAt = wallClock()
        const account = operation.account as unknown as AdapterAccount
        try {
          if (config.mode === "bare") await fixture.adapter.linkAccount!(account)
          else if (operation.kind === "increment") await increment(adapter.accountStore, operation.account)
          else if (operation.kind === "link") await adapter.linkAccount(account)
          else await adapter.syncAccount(account)
          return { index, ok: true, startedAt, endedAt: wallClock() }
        } catch (error) {
          return { index, ok: false, error: errorLabel(error), startedAt, endedAt: wallClock() }
        }
      }),
    ),
  ({ fixture }) => fixture.close(),
)
