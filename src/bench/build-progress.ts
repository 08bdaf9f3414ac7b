/**
 * Progress of a long benchmark build on stderr: at 500k users a full build runs ~20 minutes, and
 * without this the bench printed nothing between the data and the result. One line at most every
 * `everySeconds` (and the last), so a long build prints a few dozen lines, not one per model.
 */
import type { RunEvent } from '../models/model-runner.ts';
import { progress } from '../terminal/terminal-output.ts';

export interface ProgressOptions {
  everySeconds?: number;
  /** Seconds since some fixed point (injected by tests). */
  now?: () => number;
  write?: (line: string) => void;
}

export function buildProgress(label: string, options: ProgressOptions = {}): (event: RunEvent) => void {
  const now = options.now ?? (() => performance.now() / 1000);
  const write = options.write ?? progress;
  const every = options.everySeconds ?? 15;
  const started = now();
  const running = new Set<string>();
  let done = 0;
  let lastLine = -Infinity;
  return (event) => {
    if (event.kind === 'start') running.add(event.model);
    if (event.kind !== 'done') return;
    running.delete(event.result.model);
    done += 1;
    const at = now();
    if (at - lastLine < every && done < event.total) return;
    lastLine = at;
    const still = running.size ? `; running ${[...running].join(', ')}` : '';
    write(`  ${label}: ${done}/${event.total} models, ${(at - started).toFixed(0)} s${still}`);
  };
}
