/**
 * CPU profiles of this process (V8's sampling profiler through node:inspector), and their
 * summary: where the self time went, by frame and by area (a package, our own code, GC,
 * idle). The API bench profiles the API's timed windows with it (`--profile <dir>`); the
 * .cpuprofile files it writes open in Chrome DevTools or speedscope.
 */
import { Session } from 'node:inspector/promises';
import { sep } from 'node:path';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

/** V8's profile format (Profiler.stop), as written to .cpuprofile files. */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Starts sampling this process; `stop()` ends it and returns the profile. */
export async function startCpuProfile(samplingIntervalUs = 200): Promise<{ stop(): Promise<CpuProfile> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await session.post('Profiler.start');
  return {
    async stop() {
      try {
        const { profile } = await session.post('Profiler.stop');
        return profile as CpuProfile;
      } finally {
        session.disconnect();
      }
    },
  };
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

export interface CpuProfileSummary {
  /** Wall time the profile covers. */
  totalMs: number;
  /** Time the thread was busy: everything but (idle). */
  busyMs: number;
  /** Self time by function (name, file:line), largest first. */
  frames: SelfTime[];
  /** Self time by area (see areaOf), largest first. */
  areas: SelfTime[];
}

/**
 * Self time per frame and per area: each sample's time goes to the function on top of the
 * stack then. `root` filters out roots of the project path so frames read `src/serve/x.ts:12`.
 */
export function summarizeCpuProfile(profile: CpuProfile, options: { top?: number; root?: string } = {}): CpuProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; the time a sample stands for is the next delta.
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + Math.max(0, us));
  }
  const frames = new Map<string, number>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    if (frame.functionName === '(idle)') idleUs += us;
    const key = frameName(frame, options.root);
    frames.set(key, (frames.get(key) ?? 0) + us);
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const ranked = (map: Map<string, number>, top: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, ms: us / 1000, share: totalUs ? us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, busyMs: (totalUs - idleUs) / 1000, frames: ranked(frames, options.top ?? 25), areas: ranked(areas, Infinity) };
}

function frameName(frame: CpuProfileNode['callFrame'], root?: string): string {
  if (!frame.url) return frame.functionName || '(anonymous)';
  let file = frame.url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf(`node_modules${sep}`);
  if (modules >= 0) file = file.slice(modules + 'node_modules/'.length);
  else if (root && file.startsWith(root)) file = file.slice(root.length).replace(/^\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

/**
 * The area a frame belongs to: V8's own entries ((garbage collector), (idle), (program)),
 * node's internals, a package (`@cubejs-backend/schema-compiler`, `pg`, ...), or the
 * project's own code by folder (`src/serve`, `src/governance`).
 */
export function areaOf(frame: { functionName: string; url: string }): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (frame.url.startsWith('node:')) return 'node internals';
  const file = frame.url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = file.slice(modules + '/node_modules/'.length).split('/');
    return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
  }
  const project = /\/(src\/[^/]+|cube\.js|test\/[^/]+)/.exec(file);
  return project ? project[1]! : file;
}
