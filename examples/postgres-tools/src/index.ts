export type { Access, Database, DatabaseOptions, TenantTx } from './db.js';
export { createDatabase } from './db.js';
export type { MigrateOptions, RoleUrls } from './migrate.js';
export { migrate, READER_ROLE, roleUrls, WRITER_ROLE } from './migrate.js';
export type { Order, OrderStatus } from './orders.js';
export { createOrder, getOrder, ORDER_STATUSES, searchOrders, setOrderStatus } from './orders.js';
export { loadOrdersPolicy, POLICY_FILE } from './policy.js';
export type { DevPrincipalOptions } from './principal.js';
export { bindPrincipal, currentPrincipal, DEV_PRINCIPALS, devPrincipal } from './principal.js';
export type { OrdersServerOptions, OrdersServiceOptions } from './server.js';
export {
  createOrdersServer,
  MAX_SEARCH_LIMIT,
  registerOrderTools,
  startOrdersService,
} from './server.js';
