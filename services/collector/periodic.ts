/**
 * A reading repeated every `intervalMs`, one at a time: the next is scheduled when the last ended,
 * so a slow reading (a busy engine) never overlaps the next. `stop` waits for a reading in progress.
 */
export function periodic(reading: () => Promise<void>, intervalMs: number): { start(): Promise<void>; stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let stopped = false;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = reading().finally(schedule);
    }, intervalMs);
  };
  return {
    async start() {
      current = reading();
      await current;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
