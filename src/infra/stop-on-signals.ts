/**
 * How every long-running process of the service ends: on the first SIGINT or SIGTERM it says so,
 * runs its own shutdown once (drain workers, close servers and connections), and exits 0, or 1
 * with the error when the shutdown failed. A second signal while stopping changes nothing.
 */
export function stopOnSignals(say: (line: string) => void, shutdown: () => Promise<unknown>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    say('stopping ...');
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
