import { defineConfig } from "vitest/config"

export default defineConfig({
  test: { include: ["kit.test.ts"], globalSetup: ["global-setup.mjs"], testTimeout: 120_000, hookTimeout: 60_000 },
})
