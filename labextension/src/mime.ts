/**
 * The MIME renderer of `application/vnd.spec3nb.session+json`: a saved notebook shows the
 * pipeline (steps, statuses, products) without a kernel or live widgets.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { MIME_TYPE, renderSummary } from './summary';

export const RENDERER_CLASS = 'spec3nb-SummaryRenderer';

/** Renders one session summary output. */
export class SummaryRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass(RENDERER_CLASS);
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this._mimeType];
    this.node.replaceChildren(renderSummary(data, this.node.ownerDocument));
    return Promise.resolve();
  }

  private _mimeType: string;
}

/** The factory: safe (text only), so it renders in untrusted (reopened) notebooks too. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  createRenderer: options => new SummaryRenderer(options)
};

/** The MIME extension JupyterLab loads (package.json: jupyterlab.mimeExtension). */
export const extension: IRenderMime.IExtension = {
  id: 'spec3nb:session-renderer',
  description: 'Renders spec3nb session summaries (pipeline graph and products).',
  rendererFactory,
  // Behind the live widget views (rank 0) when both are present, ahead of text/plain.
  rank: 60,
  dataType: 'json'
};

export default extension;
