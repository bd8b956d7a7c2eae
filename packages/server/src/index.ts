/**
 * @zabkit/server: the runtime that drives zabkit's pure core with real timers, storage and
 * transports, and the embeddable in-process ensemble.
 *
 * @packageDocumentation
 */
export { type Ensemble, type EnsembleOptions, startEnsemble } from './ensemble.js';
export { carryOut, PeerDriver, type PeerDriverOptions } from './peer-driver.js';
