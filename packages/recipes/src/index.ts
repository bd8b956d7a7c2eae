/**
 * @zabkit/recipes: what applications build on ZooKeeper, in the manner of Apache Curator,
 * on zabkit's public client API: against an embedded zabkit, a zabkit server over TCP, or
 * Apache ZooKeeper.
 *
 * @packageDocumentation
 */
export {};
