// GraphQL Mesh Compose over the four simulators' /openapi.json (the benchmark's peer).
// The runner (tests/bench/peer.py) sets each simulator's URL and the headers its API wants
// (a key, a token it obtained, a session it logged in for), and SUPERGRAPH.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const env = process.env;

function subgraph(name: string, url: string, headers: Record<string, string>) {
  return {
    sourceHandler: loadOpenAPISubgraph(name, {
      source: `${url}/openapi.json`,
      endpoint: url,
      operationHeaders: headers,
    }),
  };
}

export const composeConfig = defineConfig({
  output: env.SUPERGRAPH || 'supergraph.graphql',
  subgraphs: [
    subgraph('Vardvik', env.VARDVIK_URL || 'http://127.0.0.1:18100', {
      Authorization: `Bearer ${env.VARDVIK_KEY || ''}`,
    }),
    subgraph('Libro', env.LIBRO_URL || 'http://127.0.0.1:18101', {
      Authorization: `Bearer ${env.LIBRO_TOKEN || ''}`,
    }),
    subgraph('LibreBooking', env.LIBREBOOKING_URL || 'http://127.0.0.1:18102', {
      'X-Booked-SessionToken': env.LIBREBOOKING_SESSION || '',
      'X-Booked-UserId': env.LIBREBOOKING_USER || '',
    }),
    subgraph('Resos', env.RESOS_URL || 'http://127.0.0.1:18103', {
      Authorization: `Basic ${env.RESOS_BASIC || ''}`,
    }),
  ],
});
