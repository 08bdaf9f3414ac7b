import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { INVALID_UTF8_MARK, Utf8Guard } from '../../src/load/utf8-guard.ts';

async function guarded(chunks: Buffer[]) {
  const guard = new Utf8Guard();
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks).pipe(guard)) out.push(chunk as Buffer);
  return { text: Buffer.concat(out).toString('utf8'), invalid: guard.invalidSequences };
}

describe('Utf8Guard', () => {
  it('passes valid text through, even with a character split across chunks', async () => {
    const bytes = Buffer.from('naïve café – 東京 😀\n', 'utf8');
    const chunks = [...bytes].map((b) => Buffer.from([b])); // worst case: one byte per chunk
    expect(await guarded(chunks)).toEqual({ text: 'naïve café – 東京 😀\n', invalid: 0 });
  });

  it('marks each invalid sequence, keeping the valid text around it', async () => {
    const bytes = Buffer.concat([Buffer.from('a'), Buffer.from([0xc3, 0x28]), Buffer.from('b'), Buffer.from([0xff]), Buffer.from('c')]);
    const { text, invalid } = await guarded([bytes]);
    expect(text).toBe(`a${INVALID_UTF8_MARK}(b${INVALID_UTF8_MARK}c`);
    expect(invalid).toBe(2);
  });

  it('marks a truncated sequence at the very end of the input', async () => {
    const { text, invalid } = await guarded([Buffer.from('ok'), Buffer.from([0xe6, 0x9d])]);
    expect(text).toBe(`ok${INVALID_UTF8_MARK}`);
    expect(invalid).toBe(1);
  });

  it('keeps a real U+FFFD as data', async () => {
    expect(await guarded([Buffer.from('x\uFFFDy', 'utf8')])).toEqual({ text: 'x\uFFFDy', invalid: 0 });
  });
});
