export type { FakeClock } from './clock.js';
export { createFakeClock } from './clock.js';
export type {
  JwksAvailability,
  MintOptions,
  TestAlgorithm,
  TestIssuer,
  TestIssuerOptions,
  TestKey,
} from './issuer.js';
export { createTestIssuer } from './issuer.js';
