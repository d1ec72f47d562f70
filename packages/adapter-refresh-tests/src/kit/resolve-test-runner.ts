import type {
  afterAll as jestAfterAll,
  beforeAll as jestBeforeAll,
  describe as jestDescribe,
  expect as jestExpect,
  it as jestIt,
} from "@jest/globals"
import type { TestRunner } from "./test-runner.js"

// Kept apart from test-runner.ts: the declarations of this module name @jest/globals, which a user's
// type-check must never have to resolve (nothing public refers to this module).

/**
 * What the kit's code calls: the same functions, seen through Jest's types (Vitest implements the same
 * API for everything the kit uses). Type-only: the kit never imports a runner at run time.
 */
export interface KitRunner {
  describe: typeof jestDescribe
  it: typeof jestIt
  beforeAll: typeof jestBeforeAll
  afterAll: typeof jestAfterAll
  expect: typeof jestExpect
}

const NAMES = ["describe", "it", "beforeAll", "afterAll", "expect"] as const

/**
 * The runner given, else the runner's globals (Jest injects them by default; Vitest with `globals: true`).
 * Fails at collection time with the fix when neither is there.
 */
export function resolveTestRunner(runner?: TestRunner): KitRunner {
  const source = (runner ?? globalThis) as unknown as Record<string, unknown>
  const missing = NAMES.filter((name) => typeof source[name] !== "function")
  if (missing.length > 0) {
    throw new TypeError(
      `runConformanceSuite: no test runner functions (${missing.join(", ")} missing). Pass them as the second ` +
        `argument, e.g. import { afterAll, beforeAll, describe, expect, it } from "vitest" and call ` +
        `runConformanceSuite(target, { afterAll, beforeAll, describe, expect, it }), or enable the runner's globals.`,
    )
  }
  return source as unknown as KitRunner
}
