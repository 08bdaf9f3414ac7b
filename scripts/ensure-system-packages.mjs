#!/usr/bin/env node
/**
 * `npm test` runs this first (pretest): the tests drive real clients that come from
 * Debian packages — psql, python3 with SQLAlchemy + psycopg2 (what Superset uses), and
 * chromium (the report and docs are opened in it). Missing ones are installed with
 * apt-get when running as root; otherwise this fails naming the packages, so no test
 * skips for want of a client.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Each package with the check that says it is there. */
const NEEDED = [
  { pkg: 'postgresql-client', present: () => which('psql') },
  { pkg: 'chromium', present: () => existsSync('/usr/bin/chromium') },
  { pkg: 'python3-sqlalchemy', present: () => python('import sqlalchemy') },
  { pkg: 'python3-psycopg2', present: () => python('import psycopg2') },
];

/** @param {string} command */
function which(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** @param {string} code */
function python(code) {
  return existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', code], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDED.filter((n) => !n.present()).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);
if (process.getuid?.() !== 0) {
  process.stderr.write(`the tests need these Debian packages: ${missing.join(' ')}\ninstall them with: sudo apt-get install -y ${missing.join(' ')}\n`);
  process.exit(1);
}
process.stderr.write(`installing ${missing.join(', ')} (needed by the tests)\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
const still = NEEDED.filter((n) => !n.present()).map((n) => n.pkg);
if (still.length > 0) {
  process.stderr.write(`still missing after apt-get install: ${still.join(' ')}\n`);
  process.exit(1);
}
