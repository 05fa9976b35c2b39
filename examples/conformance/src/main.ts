import { main } from './server.js';

await main(Number(process.env.PORT ?? 3000));
