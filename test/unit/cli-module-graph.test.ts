/**
 * The CLI starts fast because commands import only what they use: `--help`, `--version`
 * and `token` must not load Cube (or Express, which only the API uses). Checked on the
 * module graph each run records (test/support/module-recorder.mjs), not on a timing. A
 * positive control shows the recorder does see Cube when something imports it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const recorder = join(root, 'test/support/module-recorder.mjs');
const dir = mkdtempSync(join(tmpdir(), 'seglayer-modules-'));

function modulesOf(args: string[], name: string, env: Record<string, string> = {}): { lines: string[]; status: number | null; output: string } {
  const log = join(dir, `${name}.log`);
  writeFileSync(log, '');
  const run = spawnSync(process.execPath, ['--import', recorder, ...args], {
    cwd: root, env: { ...process.env, ...env, SEGLAYER_MODULE_LOG: log }, encoding: 'utf8', timeout: 60_000,
  });
  return { lines: readFileSync(log, 'utf8').split('\n').filter(Boolean), status: run.status, output: run.stdout + run.stderr };
}

const cube = (line: string) => /@cubejs-backend[\\/]/.test(line);
const express = (line: string) => /node_modules[\\/]express[\\/]/.test(line);

describe('the CLI imports only what a command uses', () => {
  it('`seglayer --help` does not import Cube or Express', () => {
    const run = modulesOf(['scripts/seglayer.mjs', '--help'], 'help');
    expect(run.status).toBe(0);
    expect(run.output).toContain('Commands:');
    expect(run.lines.some((l) => l.includes('commander'))).toBe(true); // the recorder saw the graph
    expect(run.lines.some((l) => l.includes('src/cli/commands/serve-command.ts'))).toBe(true); // help lists every group
    expect(run.lines.filter(cube)).toEqual([]);
    expect(run.lines.filter(express)).toEqual([]);
  });

  it('`seglayer --version` loads no command group', () => {
    const run = modulesOf(['scripts/seglayer.mjs', '--version'], 'version');
    expect(run.output.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    expect(run.lines.filter((l) => l.includes('src/cli/commands/'))).toEqual([]);
  });

  it('`seglayer token` loads its own group only, without Cube', () => {
    const run = modulesOf(['scripts/seglayer.mjs', 'token', '--claims', '{"role":"admin"}'], 'token', { SEGLAYER_HOME: dir });
    expect(run.status).toBe(0);
    expect(run.output).toMatch(/^eyJ/);
    expect(run.lines.filter((l) => l.includes('src/cli/commands/')).map((l) => l.replace(/.*src\/cli\/commands\//, ''))).toEqual(['serve-command.ts']);
    expect(run.lines.filter(cube)).toEqual([]);
    expect(run.lines.filter(express)).toEqual([]);
  });

  it('sees Cube when a module that uses it is imported (positive control)', () => {
    const run = modulesOf(['--import', 'tsx', '--input-type=module', '-e', "await import('./src/serve/api-server.ts')"], 'control');
    expect(run.lines.filter(cube).length).toBeGreaterThan(0);
    expect(run.lines.filter(express).length).toBeGreaterThan(0);
  });
});
