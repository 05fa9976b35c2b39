export type { HardenedServer, HardenOptions, PolicyRegistrar } from './harden.js';
export { harden } from './harden.js';
export type { PolicyMap } from './policies.js';
export { PolicyRegistry } from './policies.js';
export type { HardenedSendOptions, HardenTransportOptions } from './transport.js';
export { HardenedTransport, hardenTransport } from './transport.js';
