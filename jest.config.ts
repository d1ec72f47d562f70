/** @jest-config-loader esbuild-register */
import { availableParallelism } from "node:os"
import type { Config } from "jest"

// One decision for the whole workspace (see FACTS.md): @auth/* and oidc-provider are ESM-only, so Jest
// runs in native ESM mode (node --experimental-vm-modules) and ts-jest emits ESM. Packages of this
// workspace resolve to their TypeScript sources through the "@authjs-adapter-refresh/source" export
// condition, so tests never need a prior build.
const tsJest: Config["transform"] = {
  "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "<rootDir>/tsconfig.json" }],
}
const shared = {
  extensionsToTreatAsEsm: [".ts"],
  transform: tsJest,
  testEnvironment: "node",
  testEnvironmentOptions: { customExportConditions: ["node", "node-addons", "@authjs-adapter-refresh/source"] },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
} satisfies Config

const config: Config = {
  // The suites mostly wait: on real servers, on token expiries, on the child processes of the storms.
  // Jest's default (one worker per core but one) runs the files one after another on a 2-core machine;
  // three workers there took `pnpm test` from about 15 to 11 minutes, all passing (README "Development").
  maxWorkers: Math.max(3, availableParallelism() - 1),
  // Each test talks to real servers and processes; on a loaded 2-core machine a sign-in through the real
  // handler took over Jest's 5 s default. Time goals live in `pnpm bench`, not in test timeouts.
  testTimeout: 30_000,
  projects: [
    {
      ...shared,
      displayName: "adapter-refresh",
      rootDir: "<rootDir>/packages/adapter-refresh",
      testMatch: ["<rootDir>/test/**/*.test.ts"],
    },
    {
      ...shared,
      displayName: "adapter-refresh-tests",
      rootDir: "<rootDir>/packages/adapter-refresh-tests",
      testMatch: ["<rootDir>/test/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "\\.browser\\.test\\.ts$"],
      globalSetup: "<rootDir>/jest/global-setup.ts",
      globalTeardown: "<rootDir>/jest/global-teardown.ts",
    },
    // Real Chromium against the example apps' real servers: `pnpm test:browser` (its own CI stage, so the
    // examples are built once and the browser runs once, not in both `pnpm test` runs).
    {
      ...shared,
      displayName: "browser",
      rootDir: "<rootDir>/packages/adapter-refresh-tests",
      testMatch: ["<rootDir>/test/**/*.browser.test.ts"],
      globalSetup: "<rootDir>/jest/global-setup.ts",
      globalTeardown: "<rootDir>/jest/global-teardown.ts",
    },
  ],
}
export default config
