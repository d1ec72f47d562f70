import path from "node:path"
import { fileURLToPath } from "node:url"
import type { NextConfig } from "next"

const appDir = path.dirname(fileURLToPath(import.meta.url))

const nextConfig: NextConfig = {
  // The workspace root: authjs-adapter-refresh is linked from ../../packages (its built dist is what runs).
  turbopack: { root: path.join(appDir, "../..") },
  outputFileTracingRoot: path.join(appDir, "../.."),
  // The local provider's login form posts back to 127.0.0.1; no telemetry, no image optimisation needed.
  images: { unoptimized: true },
}

export default nextConfig
