import type { Command } from 'commander';

export function registerStartCommand(program: Command): void {
  void program;
}
