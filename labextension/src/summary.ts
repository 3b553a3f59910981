/**
 * The session summary document (`Spec3Session.summary_document()` on the Python side) and
 * its rendering into plain DOM: the pipeline graph with coloured node statuses, the errors
 * per source and the products. Text only (no HTML from the document is interpreted), so the
 * renderer is safe for untrusted notebooks.
 */

/** The MIME type spec3nb sessions publish. */
export const MIME_TYPE = 'application/vnd.spec3nb.session+json';

/** The summary version this renderer understands. */
export const SUMMARY_VERSION = 1;

/** The statuses a pipeline node can be in. */
export const STATUSES = [
  'stale',
  'queued',
  'running',
  'done',
  'skipped',
  'error'
] as const;

export type NodeStatus = (typeof STATUSES)[number];

/** One step node of the pipeline. */
export interface ISummaryNode {
  name: string;
  status: NodeStatus | string;
  seconds?: number | null;
  message?: string | null;
  errors?: { [source: string]: string };
}

/** The whole session: what `application/vnd.spec3nb.session+json` holds. */
export interface ISummaryDocument {
  version: number;
  mode?: string;
  mode_label?: string;
  association?: string | null;
  product_name?: string | null;
  exposures?: number;
  nodes: ISummaryNode[];
  products: string[];
}

/** Why `data` is not a summary this renderer can show, or null when it is one. */
export function validateSummary(data: unknown): string | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return 'the output is not a JSON object';
  }
  const doc = data as { [key: string]: unknown };
  if (doc.version !== SUMMARY_VERSION) {
    return `unsupported summary version ${JSON.stringify(doc.version)} (expected ${SUMMARY_VERSION})`;
  }
  if (!Array.isArray(doc.nodes)) {
    return '"nodes" is not a list';
  }
  for (const node of doc.nodes) {
    if (typeof node !== 'object' || node === null || typeof node.name !== 'string') {
      return 'a node has no name';
    }
  }
  if (doc.products !== undefined && !Array.isArray(doc.products)) {
    return '"products" is not a list';
  }
  return null;
}

/** The CSS class of a status (unknown statuses get `spec3nb-status-unknown`). */
export function statusClass(status: string): string {
  return (STATUSES as readonly string[]).includes(status)
    ? `spec3nb-status-${status}`
    : 'spec3nb-status-unknown';
}

/** "0.42 s", "1 min 3 s"; empty for a node that has not run. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !isFinite(seconds) || seconds < 0) {
    return '';
  }
  if (seconds < 10) {
    return `${seconds.toFixed(2)} s`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** Counts of nodes per status, in the order of STATUSES. */
export function statusCounts(nodes: ISummaryNode[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    counts.set(node.status, (counts.get(node.status) ?? 0) + 1);
  }
  return counts;
}

function element<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const el = doc.createElement(tag);
  el.className = className;
  if (text !== undefined) {
    el.textContent = text;
  }
  return el;
}

function renderNode(doc: Document, node: ISummaryNode): HTMLLIElement {
  const status = String(node.status);
  const item = element(doc, 'li', `spec3nb-node ${statusClass(status)}`);
  item.dataset.step = node.name;
  item.dataset.status = status;
  const seconds = formatSeconds(node.seconds);
  item.title = `${node.name}: ${status}${seconds ? ` in ${seconds}` : ''}`;
  item.appendChild(element(doc, 'span', 'spec3nb-node-name', node.name));
  item.appendChild(element(doc, 'span', 'spec3nb-node-status', status));
  if (seconds) {
    item.appendChild(element(doc, 'span', 'spec3nb-node-seconds', seconds));
  }
  if (node.message) {
    item.appendChild(element(doc, 'div', 'spec3nb-node-message', node.message));
  }
  const errors = Object.entries(node.errors ?? {});
  if (errors.length > 0) {
    const list = element(doc, 'ul', 'spec3nb-node-errors');
    for (const [source, message] of errors) {
      const entry = element(doc, 'li', 'spec3nb-node-error');
      entry.appendChild(element(doc, 'span', 'spec3nb-error-source', source));
      entry.appendChild(doc.createTextNode(`: ${message}`));
      list.appendChild(entry);
    }
    item.appendChild(list);
  }
  return item;
}

/**
 * Render a summary document into a new element of `doc`. An invalid document renders as
 * one line saying why (never throws).
 */
export function renderSummary(data: unknown, doc: Document = document): HTMLElement {
  const root = element(doc, 'div', 'spec3nb-summary');
  const problem = validateSummary(data);
  if (problem !== null) {
    root.classList.add('spec3nb-summary-invalid');
    root.appendChild(
      element(doc, 'div', 'spec3nb-summary-error', `spec3nb: cannot show this session summary: ${problem}`)
    );
    return root;
  }
  const summary = data as ISummaryDocument;
  const products = summary.products ?? [];

  const header = element(doc, 'div', 'spec3nb-summary-header');
  header.appendChild(
    element(doc, 'span', 'spec3nb-summary-mode', summary.mode_label || summary.mode || 'spec3nb session')
  );
  if (summary.association) {
    header.appendChild(element(doc, 'span', 'spec3nb-summary-association', summary.association));
  }
  root.appendChild(header);

  const facts: string[] = [];
  if (summary.product_name) {
    facts.push(`product ${summary.product_name}`);
  }
  if (typeof summary.exposures === 'number') {
    facts.push(`${summary.exposures} exposure${summary.exposures === 1 ? '' : 's'}`);
  }
  const counts = statusCounts(summary.nodes);
  facts.push(
    [...counts.entries()].map(([status, n]) => `${n} ${status}`).join(', ') || 'no steps'
  );
  root.appendChild(element(doc, 'div', 'spec3nb-summary-facts', facts.join(' · ')));

  const graph = element(doc, 'ol', 'spec3nb-graph');
  graph.setAttribute('aria-label', 'pipeline steps');
  for (const node of summary.nodes) {
    graph.appendChild(renderNode(doc, node));
  }
  root.appendChild(graph);

  const section = element(doc, 'div', 'spec3nb-products');
  section.appendChild(
    element(
      doc,
      'div',
      'spec3nb-products-title',
      products.length ? `Products (${products.length})` : 'No products yet'
    )
  );
  if (products.length) {
    const list = element(doc, 'ul', 'spec3nb-products-list');
    for (const name of products) {
      list.appendChild(element(doc, 'li', 'spec3nb-product', String(name)));
    }
    section.appendChild(list);
  }
  root.appendChild(section);
  return root;
}
