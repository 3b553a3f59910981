import { IKernelSource, waitForSettledKernel } from '../kernel';

/** A fake clock: each poll advances time by 100 ms and runs the scripted changes. */
function clock(script: { [t: number]: (s: IKernelSource) => void }, source: IKernelSource) {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
      for (const [at, change] of Object.entries(script)) {
        if (Number(at) === t) {
          change(source);
        }
      }
    }
  };
}

describe('waitForSettledKernel', () => {
  it('waits until one kernel has been idle for the quiet period', async () => {
    const source: IKernelSource = { session: { kernel: { id: 'k1', status: 'starting' } } };
    const c = clock({ 300: s => (s.session!.kernel = { id: 'k1', status: 'idle' }) }, source);
    const start = c.now();
    expect(await waitForSettledKernel(source, { quietMs: 1000, ...c })).toBe('k1');
    expect(c.now() - start).toBe(1300);
  });

  it('starts over when a second kernel replaces the first (the two-kernels race)', async () => {
    const source: IKernelSource = { session: { kernel: { id: 'k1', status: 'idle' } } };
    const c = clock(
      {
        500: s => (s.session!.kernel = { id: 'k2', status: 'idle' }),
        800: s => (s.session!.kernel = { id: 'k2', status: 'busy' }),
        900: s => (s.session!.kernel = { id: 'k2', status: 'idle' })
      },
      source
    );
    expect(await waitForSettledKernel(source, { quietMs: 1000, ...c })).toBe('k2');
    expect(c.now()).toBe(1900);
  });

  it('gives up after the timeout', async () => {
    const source: IKernelSource = { session: null };
    const c = clock({}, source);
    await expect(waitForSettledKernel(source, { timeoutMs: 2000, ...c })).rejects.toThrow(
      'did not settle within 2 s'
    );
  });
});
