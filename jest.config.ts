/** @jest-config-loader esbuild-register */
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
  projects: [
    { ...shared, displayName: "adapter-refresh", rootDir: "<rootDir>/packages/adapter-refresh", testMatch: ["<rootDir>/test/**/*.test.ts"] },
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
