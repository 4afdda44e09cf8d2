// The hidden acceptance test's own vitest config: with this folder as the root, vitest's default
// include finds acceptance.test.js here (the project's config includes only test/**).
export default { test: {} };
