import { extension, RENDERER_CLASS, rendererFactory, SummaryRenderer } from '../mime';
import { MIME_TYPE } from '../summary';
import realSummary from './fixtures/mir_lrs_summary.json';

function model(data: unknown): any {
  return { data: { [MIME_TYPE]: data }, metadata: {}, trusted: false, setData: () => undefined };
}

const options: any = { mimeType: MIME_TYPE, sanitizer: {}, resolver: null, linkHandler: null, latexTypesetter: null };

describe('MIME extension', () => {
  it('declares a safe renderer of the session MIME type', () => {
    expect(extension.id).toBe('spec3nb:session-renderer');
    expect(extension.rendererFactory).toBe(rendererFactory);
    expect(rendererFactory.mimeTypes).toEqual([MIME_TYPE]);
    // Safe: a reopened (untrusted) notebook must still show the pipeline.
    expect(rendererFactory.safe).toBe(true);
    expect(extension.dataType).toBe('json');
  });

  it('renders a model into the widget node, replacing what was there', async () => {
    const renderer = rendererFactory.createRenderer(options) as SummaryRenderer;
    expect(renderer).toBeInstanceOf(SummaryRenderer);
    expect(renderer.hasClass(RENDERER_CLASS)).toBe(true);
    await renderer.renderModel(model(realSummary));
    expect(renderer.node.querySelectorAll('.spec3nb-summary')).toHaveLength(1);
    expect(renderer.node.querySelectorAll('.spec3nb-node')).toHaveLength(4);
    await renderer.renderModel(model({ ...realSummary, nodes: realSummary.nodes.slice(0, 1) }));
    expect(renderer.node.querySelectorAll('.spec3nb-summary')).toHaveLength(1);
    expect(renderer.node.querySelectorAll('.spec3nb-node')).toHaveLength(1);
  });

  it('shows why when the data is not a summary', async () => {
    const renderer = rendererFactory.createRenderer(options);
    await renderer.renderModel(model('nonsense'));
    expect(renderer.node.querySelector('.spec3nb-summary-error')?.textContent).toContain(
      'not a JSON object'
    );
  });
});
