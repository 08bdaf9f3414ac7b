/**
 * Why a model file could not be imported, with the place the compiler gives. tsx
 * reports a syntax error as `Transform failed with 1 error:\n<file>:<line>:<col>: ERROR: <message>`
 * (esbuild's 0-based column); the first line alone says nothing, so the place and the
 * message are taken from the lines after it. Other errors (thrown while the module runs)
 * keep their first line and, where the stack shows it, the line in the model file.
 */
export interface ImportFailure {
  message: string;
  line?: number;
  column?: number;
}

const ESBUILD_ERROR = /^(.+?):(\d+):(\d+): (?:ERROR|error): (.+)$/m;

export function describeImportFailure(error: unknown, path: string): ImportFailure {
  const message = error instanceof Error ? error.message : String(error);
  const compiled = ESBUILD_ERROR.exec(message);
  if (compiled && compiled[1]!.endsWith(path.split('/').pop()!)) {
    const count = /Transform failed with (\d+) error/.exec(message)?.[1];
    const more = count && Number(count) > 1 ? ` (and ${Number(count) - 1} more)` : '';
    return { message: `${compiled[4]}${more}`, line: Number(compiled[2]), column: Number(compiled[3]) + 1 };
  }
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const frame = new RegExp(`${escapeRegExp(path)}:(\\d+):(\\d+)`).exec(stack);
  return { message: message.split('\n')[0]!, ...(frame ? { line: Number(frame[1]), column: Number(frame[2]) } : {}) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
