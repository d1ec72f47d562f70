/**
 * Runs `reencryptAccounts` in its own OS process, so a test can kill it mid-run (SIGKILL: no cleanup,
 * no finally) and start it again from the last cursor it printed. Argument: a JSON `ReencryptWorkerConfig`.
 * Prints one JSON line per progress report, then `{"type":"result",...}`.
 */
import { reencryptAccounts, tokenEncryption } from "authjs-adapter-refresh"
import { createFixture } from "../fixtures/databases.js"
import type { ReencryptWorkerConfig } from "./reencrypt-process.js"

const config = JSON.parse(process.argv[2]!) as ReencryptWorkerConfig
const fixture = await createFixture(config.cell, config.databaseUrl, { poolSize: 2 })
try {
  const result = await reencryptAccounts(fixture.db as object, {
    codec: tokenEncryption({ keys: config.keys }),
    batchSize: config.batchSize,
    ...(config.after ? { after: config.after } : {}),
    async onProgress(progress) {
      process.stdout.write(`${JSON.stringify({ type: "progress", ...progress })}\n`)
      // A slow consumer of progress (the job awaits it): keeps the run long enough to be killed mid-way.
      if (config.pauseMs) await new Promise((resolve) => setTimeout(resolve, config.pauseMs))
    },
  })
  process.stdout.write(`${JSON.stringify({ type: "result", ...result })}\n`)
} finally {
  await fixture.close()
}
