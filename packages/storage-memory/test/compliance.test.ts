import { MemoryStorage } from '../src/index.js';
import { storageComplianceSuite } from '../../../test/compliance/storage.js';

storageComplianceSuite('memory', {
  create: async () => new MemoryStorage(),
  reopen: async (store) => (store as MemoryStorage).reopen(),
});
