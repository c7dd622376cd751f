import { constants } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { isProcessGone } from './isProcessGone.js';
import path from 'node:path';

export interface SandboxIdentity {
  uid: number;
  gid: number;
}

/**
 * Hands each running sandbox a host uid/gid of its own, from a configured
 * range, so that no two jobs share an identity (rlimits counted per uid, file
 * ownership, signals). Claims are lock files holding the claiming worker's pid,
 * so several workers on one host share the range safely; a claim whose worker
 * died is taken over.
 */
export class IdentityPool {
  private readonly held = new Set<number>();

  constructor(
    private readonly lockDir: string,
    private readonly base: number,
    private readonly count: number,
  ) {}

  async acquire(): Promise<SandboxIdentity> {
    await mkdir(this.lockDir, { recursive: true, mode: 0o700 });
    // Start at a random slot so concurrent workers rarely contend for the same files.
    const start = Math.floor(Math.random() * this.count);
    for (let i = 0; i < this.count; i++) {
      const uid = this.base + ((start + i) % this.count);
      if (this.held.has(uid)) continue;
      if (await this.claim(uid)) {
        this.held.add(uid);
        return { uid, gid: uid };
      }
    }
    throw new Error(`all ${this.count} sandbox identities from uid ${this.base} are in use; raise SANDBOX_UID_COUNT`);
  }

  async release(identity: SandboxIdentity): Promise<void> {
    if (!this.held.delete(identity.uid)) return;
    await unlink(this.lockFile(identity.uid)).catch(() => {});
  }

  private lockFile(uid: number): string {
    return path.join(this.lockDir, String(uid));
  }

  private async claim(uid: number): Promise<boolean> {
    const file = this.lockFile(uid);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (!(await this.isStale(file))) return false;
        await unlink(file).catch(() => {});
      }
    }
    return false;
  }

  private async isStale(file: string): Promise<boolean> {
    return isProcessGone(Number(await readFile(file, 'utf8').catch(() => '')));
  }
}
