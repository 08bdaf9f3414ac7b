/** `seglayer stats compare | srm | adjust`: the statistics module on the command line, JSON on stdin, JSON on stdout. */
import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.js';
import { adjustRequest, compareRequest, srmRequest, statisticsJson } from '../../stats/stats-request.ts';

async function readStdinJson(): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`standard input is not JSON: ${(error as Error).message}`, { code: 'invalid_json' });
  }
}

export function registerStatsCommands(program: Command): void {
  const stats = program.command('stats').description('the statistics module on JSON (stdin → stdout); formulas in docs/statistics.md');
  const requests = [
    ['compare', 'treatment against control: {metric_type, control, treatment, alpha, sides, difference}', compareRequest],
    ['srm', 'sample ratio mismatch: {users: [...], weights: [...]}', srmRequest],
    ['adjust', 'adjusted p-values in input order: {p_values: [...], method: "bh"|"holm"}', adjustRequest],
  ] as const;
  for (const [name, description, handle] of requests) {
    stats.command(name).description(description).action(async () => {
      process.stdout.write(`${statisticsJson(handle(await readStdinJson()))}\n`);
    });
  }
}
