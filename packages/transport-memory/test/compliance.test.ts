import { transportComplianceSuite } from '../../../test/compliance/transport.js';
import { MemoryNetwork } from '../src/index.js';

let network = new MemoryNetwork();

transportComplianceSuite('memory', {
  create: async (ids) => {
    network = new MemoryNetwork();
    return ids.map((id) => network.endpoint(id));
  },
  breakLink: (a, b) => network.partition(a, b),
});
