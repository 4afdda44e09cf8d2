// `bugfix-service check`: loads the worker's whole module graph (activities, drivers, the Prisma
// client, tree-sitter) and builds the workflow bundle a worker builds at start, without
// connecting anywhere: proves an image has every production dependency it needs.
const started = Date.now();
const { workflowBundle, WORKFLOWS_PATH } = await import('../src/worker.js');
const bundle = await workflowBundle();
console.log(`check: worker code loaded, workflow bundle of ${WORKFLOWS_PATH} is ${bundle.code.length} bytes (${Date.now() - started} ms)`);
