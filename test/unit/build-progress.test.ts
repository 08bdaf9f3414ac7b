/** The bench's build progress (src/bench/build-progress.ts): throttled lines, always the last one, what still runs. */
import { expect, it } from 'vitest';
import { buildProgress } from '../../src/bench/build-progress.ts';
import type { ModelResult } from '../../src/models/model-runner.ts';

const result = (model: string): ModelResult => ({ model, status: 'success', rows: 1, seconds: 1, tests: [] });

it('prints at most one line per interval, names what is still running, and always prints the last model', () => {
  let clock = 100;
  const lines: string[] = [];
  const onEvent = buildProgress('full build', { everySeconds: 15, now: () => clock, write: (line) => lines.push(line) });
  const total = 4;
  onEvent({ kind: 'start', model: 'a', index: 0, total });
  onEvent({ kind: 'start', model: 'b', index: 1, total });
  clock = 103;
  onEvent({ kind: 'done', result: result('a'), index: 0, total }); // the first done: printed
  onEvent({ kind: 'start', model: 'c', index: 2, total });
  clock = 110;
  onEvent({ kind: 'done', result: result('b'), index: 1, total }); // 7 s after the last line: quiet
  onEvent({ kind: 'start', model: 'd', index: 3, total });
  clock = 119;
  onEvent({ kind: 'done', result: result('c'), index: 2, total }); // 16 s after: printed
  clock = 120;
  onEvent({ kind: 'done', result: result('d'), index: 3, total }); // the last: printed however soon
  expect(lines).toEqual([
    '  full build: 1/4 models, 3 s; running b',
    '  full build: 3/4 models, 19 s; running d',
    '  full build: 4/4 models, 20 s',
  ]);
});
