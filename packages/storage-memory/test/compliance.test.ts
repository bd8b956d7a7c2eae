import { storageComplianceSuite } from '../../../test/compliance/storage.js';
import { MemoryStorage } from '../src/index.js';

storageComplianceSuite('memory', {
  create: async () => new MemoryStorage(),
  reopen: async (store) => (store as MemoryStorage).reopen(),
});
