/**
 * An HTTP API process on its own (`npm run api`, src/http-main.ts), as production runs it apart
 * from the workers: a bench that measures answers measures the API's own work, not a worker's
 * activities sharing its event loop. BENCH_API_NODE_ARGS adds Node flags to it, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes.
 */
import { spawnEntry } from '../dev/entry-process.js';

export interface ApiProcess {
  url: string;
  stop(): Promise<void>;
}

export async function spawnApiProcess(logFile: string, env: Record<string, string> = {}): Promise<ApiProcess> {
  const api = await spawnEntry({
    entry: 'src/http-main.ts',
    env: { ...process.env, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', ...env },
    logFile,
    ready: /\[api\] listening on (http:\/\/\S+)/,
    readyTimeoutMs: 60_000,
    nodeArgs: (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean),
  });
  return { url: api.ready[1]!, stop: api.stop };
}
