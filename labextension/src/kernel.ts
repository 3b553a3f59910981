/**
 * Waiting for a notebook's kernel to settle before running its cells. On a fresh server,
 * opening a notebook sometimes starts two kernels and shuts one down a moment later; cells
 * sent in between are lost. So: wait until the same kernel has been idle for `quietMs`.
 */

/** The part of a session context this needs (JupyterLab's ISessionContext has it). */
export interface IKernelSource {
  session?: { kernel?: { id: string; status: string } | null } | null;
}

export interface ISettleOptions {
  quietMs?: number;
  timeoutMs?: number;
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** Resolve with the kernel id once one kernel has stayed idle for `quietMs`; reject on timeout. */
export async function waitForSettledKernel(
  source: IKernelSource,
  options: ISettleOptions = {}
): Promise<string> {
  const quietMs = options.quietMs ?? 1500;
  const timeoutMs = options.timeoutMs ?? 120000;
  const pollMs = options.pollMs ?? 100;
  const now = options.now ?? (() => Date.now());
  const sleep = options.sleep ?? realSleep;
  const start = now();
  let idleSince: number | null = null;
  let idleKernel: string | null = null;
  for (;;) {
    const kernel = source.session?.kernel;
    const t = now();
    if (kernel && kernel.status === 'idle') {
      if (kernel.id !== idleKernel) {
        idleKernel = kernel.id;
        idleSince = t;
      }
      if (idleSince !== null && t - idleSince >= quietMs) {
        return kernel.id;
      }
    } else {
      idleKernel = null;
      idleSince = null;
    }
    if (t - start > timeoutMs) {
      throw new Error(`spec3nb: the kernel did not settle within ${timeoutMs / 1000} s`);
    }
    await sleep(pollMs);
  }
}
