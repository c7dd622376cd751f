import { describe, expect, it } from 'vitest';
import { OutputUntilToken } from '../../src/worker/sandbox/local/OutputUntilToken.js';

/** Feeds `chunks` and returns what was passed on, and whether the token was seen. */
function feed(token: string, chunks: string[]): { passed: string; ended: boolean } {
  const parts: Buffer[] = [];
  const stream = new OutputUntilToken(Buffer.from(token), (chunk) => parts.push(Buffer.from(chunk)));
  for (const chunk of chunks) stream.push(Buffer.from(chunk));
  return { passed: Buffer.concat(parts).toString(), ended: stream.ended };
}

describe('a case runner\'s output stream', () => {
  it('passes on what comes before the token, and nothing of it or after it', () => {
    expect(feed('TOKEN', ['hello ', 'worldTOKENafter'])).toEqual({ passed: 'hello world', ended: true });
    expect(feed('TOKEN', ['TOKEN'])).toEqual({ passed: '', ended: true });
    expect(feed('TOKEN', ['x', 'TOKEN', 'more'])).toEqual({ passed: 'x', ended: true });
  });

  it('finds a token split across chunks, however it is cut', () => {
    for (let cut = 1; cut < 5; cut++) {
      expect(feed('TOKEN', [`abc${'TOKEN'.slice(0, cut)}`, `${'TOKEN'.slice(cut)}rest`])).toEqual({ passed: 'abc', ended: true });
    }
    expect(feed('TOKEN', ['ab', 'T', 'O', 'K', 'E', 'N'])).toEqual({ passed: 'ab', ended: true });
  });

  it('holds back only what may begin a token, and passes it on once it does not', () => {
    // Until the end is clear, the last bytes short of a token may be held: all of it comes once the token follows.
    expect(feed('TOKEN', ['TOKE'])).toEqual({ passed: '', ended: false });
    expect(feed('TOKEN', ['TOKE', 'X', 'TOKEN'])).toEqual({ passed: 'TOKEX', ended: true });
    expect(feed('TOKEN', ['a long line of output\n'])).toEqual({ passed: 'a long line of out', ended: false });
  });
});
