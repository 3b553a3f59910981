import {
  associationCells,
  isAssociation,
  notebookContent,
  notebookNameFor,
  quoteArgument,
  simulationCells,
  SIMULATED_MODES,
  uniqueNotebookPath
} from '../notebook';

describe('notebook content', () => {
  it('starts an association notebook with the starter cells', () => {
    expect(associationCells('jw01234-o001_spec3_00001_asn.json')).toEqual([
      '%load_ext spec3nb',
      'session = %spec3 jw01234-o001_spec3_00001_asn.json'
    ]);
  });

  it('quotes an association name the magic could split', () => {
    expect(associationCells('my data_asn.json')[1]).toBe('session = %spec3 "my data_asn.json"');
    expect(quoteArgument('a"b c')).toBe('"a\\"b c"');
    expect(quoteArgument('dir/jw_asn.json')).toBe('dir/jw_asn.json');
  });

  it('starts a simulated notebook for each known mode, and refuses others', () => {
    expect(simulationCells('mir_lrs')).toEqual(['%load_ext spec3nb', 'session = %spec3_simulate mir_lrs']);
    expect(SIMULATED_MODES.map(m => m.mode)).toEqual([
      'nrs_fs',
      'nrs_mos',
      'mir_lrs',
      'nis_soss',
      'nis_wfss',
      'nrc_wfss'
    ]);
    expect(() => simulationCells('mir_lrs; import os')).toThrow('unknown simulated mode');
  });

  it('writes valid nbformat 4.5 JSON with a Python kernel and empty outputs', () => {
    const nb = notebookContent(['a = 1', 'b = 2']);
    expect(nb.nbformat).toBe(4);
    expect(nb.nbformat_minor).toBe(5);
    expect(nb.metadata.kernelspec.name).toBe('python3');
    expect(nb.cells).toHaveLength(2);
    for (const [i, cell] of nb.cells.entries()) {
      expect(cell).toEqual({
        cell_type: 'code',
        id: `spec3nb-${i + 1}`,
        execution_count: null,
        metadata: {},
        outputs: [],
        source: ['a = 1', 'b = 2'][i]
      });
    }
    // Round-trips through JSON (what the contents API stores).
    expect(JSON.parse(JSON.stringify(nb))).toEqual(nb);
  });
});

describe('association paths', () => {
  it.each([
    ['data/jw01234-o001_spec3_00001_asn.json', true],
    ['JW_ASN.JSON', true],
    ['_asn.json', false],
    ['data/jw01234_asn.json.bak', false],
    ['data/notes.json', false],
    ['', false],
    [undefined, false]
  ])('isAssociation(%p) is %p', (path, expected) => {
    expect(isAssociation(path)).toBe(expected);
  });

  it('names the notebook after the association', () => {
    expect(notebookNameFor('data/lrs/jw01234-o001_spec3_00001_asn.json')).toBe(
      'jw01234-o001_spec3_00001.ipynb'
    );
  });

  it('never reuses the name of an existing notebook', async () => {
    const taken = new Set(['d/x.ipynb', 'd/x-1.ipynb']);
    const exists = async (p: string) => taken.has(p);
    expect(await uniqueNotebookPath('d', 'x.ipynb', exists)).toBe('d/x-2.ipynb');
    expect(await uniqueNotebookPath('', 'y.ipynb', exists)).toBe('y.ipynb');
    await expect(uniqueNotebookPath('d', 'x.ipynb', async () => true, 5)).rejects.toThrow(
      'no free notebook name'
    );
  });
});
