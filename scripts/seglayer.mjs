#!/usr/bin/env node
// Entry point of the `seglayer` CLI: registers tsx so the TypeScript engine in
// src/ runs without a build step, then hands over to the command definitions.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
