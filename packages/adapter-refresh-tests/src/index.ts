/**
 * authjs-adapter-refresh-tests: the conformance kit. Run it on any Auth.js adapter + AccountStore pair:
 *
 *   import { runConformanceSuite } from "authjs-adapter-refresh-tests"
 *   runConformanceSuite({ name: "my-orm", fixtureModule: new URL("./my-fixture.ts", import.meta.url) })
 *
 * Helpers that start a test PostgreSQL server are in the optional "authjs-adapter-refresh-tests/postgres".
 */
export { runConformanceSuite } from "./kit/conformance.js"
export type { TestFunction, TestRunner } from "./kit/test-runner.js"
export type {
  ConformanceFixture,
  ConformanceFixtureModule,
  ConformanceCell,
  ConformanceTarget,
  IsolatedDatabase,
} from "./kit/fixture.js"
export { peakOverlap, runInWorkerProcesses } from "./kit/run-workers.js"
export type { ProcessOutcome } from "./kit/run-workers.js"
export type { OperationOutcome, WorkerConfig, WorkerOperation } from "./kit/worker-protocol.js"
