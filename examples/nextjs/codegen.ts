// graphql-codegen: types for every operation in lib/, from the server's checked-in schema
// (no server needs to run). `npm run codegen` writes lib/gql/ (git-ignored).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["lib/**/*.ts", "!lib/gql/**"],
  generates: {
    "lib/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: "string", ID: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
      },
    },
  },
  silent: true,
};

export default config;
