// GraphQL Mesh Compose over the Vardvik simulator's /openapi.json (the benchmark's peer).
// The runner (tests/bench/peer.py) sets VARDVIK_URL, VARDVIK_KEY and SUPERGRAPH.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const VARDVIK_URL = process.env.VARDVIK_URL || 'http://127.0.0.1:18100';

export const composeConfig = defineConfig({
  output: process.env.SUPERGRAPH || 'supergraph.graphql',
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Vardvik', {
        source: `${VARDVIK_URL}/openapi.json`,
        endpoint: VARDVIK_URL,
        operationHeaders: { Authorization: `Bearer ${process.env.VARDVIK_KEY || ''}` },
      }),
    },
  ],
});
