export { bugFixWorkflow } from './bug-fix.js';
