import { describe, expect, it } from "@jest/globals"
import { fileURLToPath } from "node:url"
import { resolveTestRunner } from "../../src/kit/resolve-test-runner.js"
import { fixtureLoaderFlags } from "../../src/kit/run-workers.js"
import { workerNodeFlags } from "../../src/kit/barrier-workers.js"

// How the kit finds its test runner and how its worker processes load a fixture, as installed from npm
// (built worker.js) and as run in this workspace (worker.ts under tsx). The processes themselves run in
// the conformance suites and in scripts/check-packages.sh from the packed tarball.
describe("the kit's test runner", () => {
  it("uses the functions it is given", () => {
    const runner = {
      describe: () => {},
      it: Object.assign(() => {}, { each: () => () => {} }),
      beforeAll: () => {},
      afterAll: () => {},
      expect: () => ({}),
    }
    expect(resolveTestRunner(runner)).toBe(runner)
  })

  it("falls back to the runner's globals (Jest injects them)", () => {
    expect(resolveTestRunner().describe).toBe((globalThis as Record<string, unknown>).describe)
  })

  it("names what is missing and how to pass it when there is no runner", () => {
    const partial = { describe: () => {}, it: Object.assign(() => {}, { each: () => () => {} }) } as never
    expect(() => resolveTestRunner(partial)).toThrow(/beforeAll, afterAll, expect missing.*from "vitest"/)
  })
})

describe("the kit's worker processes", () => {
  const tsFixture = new URL("../../src/fixtures/conformance-pg.ts", import.meta.url).href
  const builtWorker = "/somewhere/node_modules/authjs-adapter-refresh-tests/dist/kit/worker.js"

  it("run the workspace's TypeScript worker under tsx with the source condition", () => {
    expect(workerNodeFlags("/repo/src/kit/worker.ts")).toEqual([
      "--conditions=@authjs-adapter-refresh/source",
      "--import",
      "tsx",
      "--no-warnings",
    ])
  })

  it("run a built worker as plain JavaScript: no tsx, no source condition", () => {
    expect(workerNodeFlags(builtWorker)).toEqual(["--no-warnings"])
    expect(fixtureLoaderFlags("/app/test/fixture.js", undefined, builtWorker)).toEqual([])
  })

  it("load a TypeScript fixture from a built worker with tsx resolved from the fixture's folder", () => {
    const flags = fixtureLoaderFlags(tsFixture, undefined, builtWorker)
    expect(flags[0]).toBe("--import")
    expect(fileURLToPath(flags[1]!)).toMatch(/node_modules\/.*tsx\/dist\/loader\.mjs$/)
  })

  it("use the loader flags the target gives instead", () => {
    expect(fixtureLoaderFlags(tsFixture, ["--import", "my-loader"], builtWorker)).toEqual(["--import", "my-loader"])
  })

  it("need nothing more when run from the workspace's source, which is under tsx already", () => {
    expect(fixtureLoaderFlags(tsFixture, undefined, "/repo/src/kit/worker.ts")).toEqual([])
  })
})
