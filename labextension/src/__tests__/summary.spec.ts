import {
  formatSeconds,
  MIME_TYPE,
  renderSummary,
  statusClass,
  validateSummary
} from '../summary';
// Written by Spec3Session.summary_document() after a run of a simulated mir_lrs dataset.
import realSummary from './fixtures/mir_lrs_summary.json';

function doc(overrides: { [key: string]: any } = {}) {
  return {
    version: 1,
    mode: 'nrs_fs',
    mode_label: 'NIRSpec fixed slit',
    association: 'jw01_spec3_00001_asn.json',
    product_name: 'jw01-o001_t001_nirspec_clear-prism',
    exposures: 3,
    nodes: [
      { name: 'exp_to_source', status: 'done', seconds: 0.5, message: '', errors: {} },
      {
        name: 'extract_1d',
        status: 'error',
        seconds: 1.25,
        message: '1 source failed',
        errors: { s000000002: 'aperture outside the slit' }
      },
      { name: 'combine_1d', status: 'stale', seconds: null, message: '', errors: {} }
    ],
    products: ['a_s2d.fits', 'a_x1d.fits'],
    ...overrides
  };
}

describe('renderSummary', () => {
  it('draws one coloured node per step, in pipeline order', () => {
    const el = renderSummary(doc());
    const nodes = Array.from(el.querySelectorAll<HTMLElement>('ol.spec3nb-graph > li.spec3nb-node'));
    expect(nodes.map(n => n.dataset.step)).toEqual(['exp_to_source', 'extract_1d', 'combine_1d']);
    expect(nodes.map(n => n.dataset.status)).toEqual(['done', 'error', 'stale']);
    expect(nodes[0].classList.contains('spec3nb-status-done')).toBe(true);
    expect(nodes[1].classList.contains('spec3nb-status-error')).toBe(true);
    expect(nodes[2].classList.contains('spec3nb-status-stale')).toBe(true);
    expect(nodes[1].querySelector('.spec3nb-node-seconds')?.textContent).toBe('1.25 s');
    // A node that has not run shows no time.
    expect(nodes[2].querySelector('.spec3nb-node-seconds')).toBeNull();
  });

  it('lists the errors per source under their step', () => {
    const el = renderSummary(doc());
    const errors = el.querySelectorAll('[data-step="extract_1d"] .spec3nb-node-error');
    expect(errors).toHaveLength(1);
    expect(errors[0].textContent).toBe('s000000002: aperture outside the slit');
    expect(el.querySelectorAll('[data-step="exp_to_source"] .spec3nb-node-error')).toHaveLength(0);
    expect(el.querySelector('[data-step="extract_1d"] .spec3nb-node-message')?.textContent).toBe(
      '1 source failed'
    );
  });

  it('shows the header facts and the products', () => {
    const el = renderSummary(doc());
    expect(el.querySelector('.spec3nb-summary-mode')?.textContent).toBe('NIRSpec fixed slit');
    expect(el.querySelector('.spec3nb-summary-association')?.textContent).toBe(
      'jw01_spec3_00001_asn.json'
    );
    const facts = el.querySelector('.spec3nb-summary-facts')?.textContent ?? '';
    expect(facts).toContain('product jw01-o001_t001_nirspec_clear-prism');
    expect(facts).toContain('3 exposures');
    expect(facts).toContain('1 done, 1 error, 1 stale');
    expect(el.querySelector('.spec3nb-products-title')?.textContent).toBe('Products (2)');
    expect(Array.from(el.querySelectorAll('.spec3nb-product')).map(p => p.textContent)).toEqual([
      'a_s2d.fits',
      'a_x1d.fits'
    ]);
  });

  it('says when there are no products yet', () => {
    const el = renderSummary(doc({ products: [] }));
    expect(el.querySelector('.spec3nb-products-title')?.textContent).toBe('No products yet');
    expect(el.querySelector('.spec3nb-products-list')).toBeNull();
  });

  it('renders the document a real mir_lrs session writes', () => {
    const el = renderSummary(realSummary);
    expect(el.classList.contains('spec3nb-summary-invalid')).toBe(false);
    expect(
      Array.from(el.querySelectorAll<HTMLElement>('.spec3nb-node')).map(n => [n.dataset.step, n.dataset.status])
    ).toEqual([
      ['outlier_detection', 'done'],
      ['resample_spec', 'done'],
      ['extract_1d', 'done'],
      ['combine_1d', 'skipped']
    ]);
    expect(el.querySelector('.spec3nb-summary-mode')?.textContent).toBe('MIRI LRS fixed slit');
    const products = Array.from(el.querySelectorAll('.spec3nb-product')).map(p => p.textContent);
    expect(products).toContain('jw01234-o001_t001_miri_p750l_x1d.fits');
    expect(products).toHaveLength(realSummary.products.length);
  });

  it('never interprets text from the document as HTML', () => {
    const el = renderSummary(
      doc({
        mode_label: '<img src=x onerror="alert(1)">',
        products: ['<script>alert(2)</script>'],
        nodes: [{ name: '<b>x</b>', status: 'error', errors: { '<i>s</i>': '<u>m</u>' } }]
      })
    );
    expect(el.querySelector('img, script, b, i, u')).toBeNull();
    expect(el.querySelector('.spec3nb-summary-mode')?.textContent).toBe('<img src=x onerror="alert(1)">');
  });

  it.each([
    [null, 'not a JSON object'],
    [[1, 2], 'not a JSON object'],
    [{ version: 2, nodes: [], products: [] }, 'unsupported summary version 2'],
    [{ version: 1, nodes: 'x', products: [] }, '"nodes" is not a list'],
    [{ version: 1, nodes: [{ status: 'done' }], products: [] }, 'a node has no name'],
    [{ version: 1, nodes: [], products: 'a.fits' }, '"products" is not a list']
  ])('renders an invalid document %j as one line saying why', (data, why) => {
    expect(validateSummary(data)).toContain(why);
    const el = renderSummary(data);
    expect(el.classList.contains('spec3nb-summary-invalid')).toBe(true);
    expect(el.querySelector('.spec3nb-summary-error')?.textContent).toContain(why);
    expect(el.querySelector('.spec3nb-graph')).toBeNull();
  });

  it('gives unknown statuses a neutral class', () => {
    expect(statusClass('running')).toBe('spec3nb-status-running');
    expect(statusClass('exploded')).toBe('spec3nb-status-unknown');
    const el = renderSummary(doc({ nodes: [{ name: 'a', status: 'exploded' }] }));
    expect(el.querySelector('.spec3nb-node')?.className).toBe('spec3nb-node spec3nb-status-unknown');
  });
});

describe('formatSeconds', () => {
  it.each([
    [null, ''],
    [undefined, ''],
    [-1, ''],
    [NaN, ''],
    [0.0001, '0.00 s'],
    [1.234, '1.23 s'],
    [12.34, '12.3 s'],
    [125, '2 min 5 s']
  ])('%p -> %p', (seconds, text) => {
    expect(formatSeconds(seconds as any)).toBe(text);
  });
});

it('uses the MIME type spec3nb.session publishes', () => {
  expect(MIME_TYPE).toBe('application/vnd.spec3nb.session+json');
});
