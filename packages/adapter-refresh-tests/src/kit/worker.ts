/**
 * A conformance-kit worker process: builds the target's fixture from the database URL, reports "ready",
 * waits for "go" on stdin (so that every process starts its burst at the same moment), then runs all its
 * operations concurrently and reports the outcome of each.
 */
import { createInterface } from "node:readline"
import { pathToFileURL } from "node:url"
import { withTokenSync } from "authjs-adapter-refresh"
import type { AdapterAccount } from "@auth/core/adapters"
import type { ConformanceFixtureModule } from "./fixture.js"
import type { OperationOutcome, WorkerConfig, WorkerMessage } from "./worker-protocol.js"

const send = (message: WorkerMessage): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}
const wallClock = (): number => performance.timeOrigin + performance.now()

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig
  const moduleUrl = config.fixtureModule.startsWith("file:") ? config.fixtureModule : pathToFileURL(config.fixtureModule).href
  const fixtureModule = (await import(moduleUrl)) as ConformanceFixtureModule
  const fixture = await fixtureModule.createFixture(config.databaseUrl)
  const adapter = withTokenSync(fixture.adapter, fixture.db)
  const bareLink = fixture.adapter.linkAccount
  if (config.mode === "bare" && !bareLink) throw new Error("the bare adapter has no linkAccount")

  // Open the pool's connections before the burst, so the burst measures the operations, not connecting.
  await Promise.all(config.operations.slice(0, 5).map(() => fixture.accountRows({ provider: "-", providerAccountId: "-" })))
  send({ type: "ready", pid: process.pid })
  const lines = createInterface({ input: process.stdin })
  await new Promise<void>((resolve) => lines.once("line", () => resolve()))

  const outcomes = await Promise.all(
    config.operations.map(async (operation, index): Promise<OperationOutcome> => {
      const startedAt = wallClock()
      try {
        if (config.mode === "bare") await bareLink!(operation.account as unknown as AdapterAccount)
        else if (operation.kind === "link") await adapter.linkAccount(operation.account as unknown as AdapterAccount)
        else await adapter.syncAccount(operation.account as unknown as AdapterAccount)
        return { index, ok: true, startedAt, endedAt: wallClock() }
      } catch (error) {
        const name = error instanceof Error ? error.name : typeof error
        const code = (error as { code?: unknown } | null)?.code
        return { index, ok: false, error: code === undefined ? name : `${name} ${String(code)}`, startedAt, endedAt: wallClock() }
      }
    }),
  )
  send({ type: "done", pid: process.pid, outcomes })
  lines.close()
  await fixture.close()
}

main().catch((error: unknown) => {
  send({ type: "failed", pid: process.pid, reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
  process.exitCode = 1
})
