import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

// Vitest runs the conformance kit too (test/vitest/*.vitest.ts; Jest's testMatch, *.test.ts, skips them).
// Workspace packages resolve to their TypeScript sources, as under Jest, through the source condition.
const conditions = ["@authjs-adapter-refresh/source", ...defaultServerConditions]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["test/vitest/**/*.vitest.ts"],
    globalSetup: ["test/vitest/global-setup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
