import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The app is one folder of a larger repository: keep Next.js from looking above it.
  turbopack: { root: __dirname },
  outputFileTracingRoot: __dirname,
  poweredByHeader: false,
};

export default nextConfig;
