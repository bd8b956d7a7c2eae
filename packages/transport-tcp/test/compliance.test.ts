import { transportComplianceSuite } from '../../../test/compliance/transport.js';
import type { TcpTransport } from '../src/index.js';
import { connectedEndpoints } from './helpers.js';

let endpoints: TcpTransport[] = [];

transportComplianceSuite('tcp', {
  create: async (ids) => {
    endpoints = await connectedEndpoints(ids);
    return endpoints;
  },
  // A partition cut at both ends, so neither redials while the suite checks nothing gets through.
  breakLink: (a, b) => {
    for (const endpoint of endpoints) {
      if (endpoint.serverId === a) endpoint.partition(b);
      if (endpoint.serverId === b) endpoint.partition(a);
    }
  },
  dispose: async () => {
    await Promise.all(endpoints.map((endpoint) => endpoint.shutdown()));
  },
});
