/** Builds a project's environment image on this host (the environment build workflow's activity). */
import { buildEnvironment, type BuildDeps, type BuildInput } from '../src/sandbox/environment-provision.js';

export function createEnvironmentActivities(deps: BuildDeps) {
  return {
    async buildEnvironmentImage(input: BuildInput) {
      return buildEnvironment(deps, input);
    },
  };
}
