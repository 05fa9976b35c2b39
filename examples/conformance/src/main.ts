// server.js loads policy.yaml when imported: an invalid file stops here with its located
// messages (file:line:column: field: message) and exit code 2, not a stack trace.
const server = await import('./server.js').catch((err: unknown) => {
  if (!(err instanceof TypeError) || err.name !== 'PolicyError') throw err;
  console.error(`conformance: ${err.message}`);
  process.exit(2);
});

await server.main(Number(process.env.PORT ?? 3000));
