/**
 * The notebooks the extension creates: starter cells for an association or a simulated
 * mode, their JSON content, and where they go.
 */

/** The simulated modes that run end to end (`spec3nb simulate MODE`). */
export const SIMULATED_MODES: ReadonlyArray<{ mode: string; label: string }> = [
  { mode: 'nrs_fs', label: 'NIRSpec fixed slit' },
  { mode: 'nrs_mos', label: 'NIRSpec MOS' },
  { mode: 'mir_lrs', label: 'MIRI LRS fixed slit' },
  { mode: 'nis_soss', label: 'NIRISS SOSS' },
  { mode: 'nis_wfss', label: 'NIRISS WFSS' },
  { mode: 'nrc_wfss', label: 'NIRCam WFSS' }
];

const ASN_SUFFIX = '_asn.json';

/** Whether a path names a Level-3 association (`*_asn.json`). */
export function isAssociation(path: string | null | undefined): boolean {
  if (!path) {
    return false;
  }
  const name = basename(path);
  return name.length > ASN_SUFFIX.length && name.toLowerCase().endsWith(ASN_SUFFIX);
}

export function basename(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1];
}

export function dirname(path: string): string {
  const at = path.lastIndexOf('/');
  return at < 0 ? '' : path.slice(0, at);
}

export function join(dir: string, name: string): string {
  return dir ? `${dir.replace(/\/+$/, '')}/${name}` : name;
}

/** A magic argument: bare when it is safe, else double-quoted. */
export function quoteArgument(value: string): string {
  return /^[\w.\-/+@]+$/.test(value) ? value : JSON.stringify(value);
}

/** The starter cells for an association (the notebook sits beside it). */
export function associationCells(asnName: string): string[] {
  return ['%load_ext spec3nb', `session = %spec3 ${quoteArgument(asnName)}`];
}

/** The starter cells for a simulated dataset of `mode`. */
export function simulationCells(mode: string): string[] {
  if (!SIMULATED_MODES.some(m => m.mode === mode)) {
    throw new Error(`spec3nb: unknown simulated mode ${JSON.stringify(mode)}`);
  }
  return ['%load_ext spec3nb', `session = %spec3_simulate ${mode}`];
}

/** nbformat 4 notebook JSON with one code cell per source. */
export function notebookContent(sources: string[]): { [key: string]: any } {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' },
      language_info: { name: 'python' },
      spec3nb: { created_by: 'spec3nb labextension' }
    },
    cells: sources.map((source, i) => ({
      cell_type: 'code',
      id: `spec3nb-${i + 1}`,
      execution_count: null,
      metadata: {},
      outputs: [],
      source
    }))
  };
}

/** The notebook name for an association: `jw..._spec3_00001_asn.json` -> `jw..._spec3_00001.ipynb`. */
export function notebookNameFor(asnPath: string): string {
  const name = basename(asnPath);
  return `${name.slice(0, name.length - ASN_SUFFIX.length)}.ipynb`;
}

/**
 * The first of `stem.ipynb`, `stem-1.ipynb`, ... in `dir` that does not exist (an existing
 * notebook is never overwritten).
 */
export async function uniqueNotebookPath(
  dir: string,
  name: string,
  exists: (path: string) => Promise<boolean>,
  limit = 1000
): Promise<string> {
  const stem = name.replace(/\.ipynb$/, '');
  for (let i = 0; i < limit; i++) {
    const candidate = join(dir, i === 0 ? `${stem}.ipynb` : `${stem}-${i}.ipynb`);
    if (!(await exists(candidate))) {
      return candidate;
    }
  }
  throw new Error(`spec3nb: no free notebook name for ${join(dir, stem)}`);
}
