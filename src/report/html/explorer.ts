/**
 * The heap dump explorer's viewer (`memwhy analyze DUMP --html FILE`): a
 * browser script bundled at package build time (scripts/build-viewer.mjs)
 * and inlined into the page by src/report/heapTreeHtml.ts. It reads the
 * pruned dominator tree (analyze/heapTree.ts) from the page's JSON block.
 *
 * Rows are made when their holder is first opened, not before: a page keeps
 * thousands of holders and draws only what the reader opens. Every string
 * from the data goes in through textContent: names and keys come from the
 * target process.
 */
import type { HeapTree, PathStep, TreeNode } from '../../analyze/heapTree.js';
import { formatBytes, formatInteger } from '../../util/units.js';
import { h, type Child } from './dom.js';
import { DATA_ELEMENT_ID, ROOT_ELEMENT_ID } from './shared.js';

const percent = (part: number, whole: number): string => {
  const p = (100 * part) / Math.max(1, whole);
  return p >= 10 ? `${p.toFixed(0)} %` : p >= 0.1 ? `${p.toFixed(1)} %` : `${p.toFixed(2)} %`;
};

class Explorer {
  private readonly rows = new Map<number, HTMLElement>();
  private readonly pathBox: HTMLElement;

  constructor(
    private readonly doc: HeapTree,
    private readonly root: HTMLElement,
  ) {
    this.pathBox = h('section', { id: 'path', class: 'card', hidden: '' });
  }

  private typeName(t: number): string {
    return this.doc.types[t] ?? '?';
  }

  render(): void {
    const { doc } = this;
    const s = doc.summary;
    const when = new Date(s.dumped_at * 1000)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC');
    this.root.append(
      h(
        'header',
        { class: 'card' },
        h('h1', null, `Heap of pid ${s.pid}: ${formatBytes(s.bytes)} in ${formatInteger(s.objects)} objects`),
        h('p', { class: 'muted' }, `CPython ${s.python}, dumped ${when}, ${formatInteger(s.references)} references; ${s.path}`),
        h('p', { id: 'pruned-note' }, this.prunedNote()),
      ),
    );
    if (doc.diff) {
      this.root.classList.add('with-diff');
      this.root.append(this.grewSection());
    }
    const tree = h('div', { class: 'tree', role: 'tree' });
    tree.append(this.headerRow());
    for (const id of doc.top) tree.append(this.row(id, 0));
    if (doc.more.count > 0) tree.append(this.moreLine(doc.more, 0));
    this.root.append(
      h(
        'section',
        { id: 'tree', class: 'card' },
        h('h2', null, 'Dominator tree'),
        h('p', { class: 'muted' }, 'Each object retains what only it keeps alive. Open a row to see what it holds; "path" shows how a root reaches it.'),
        tree,
      ),
      this.pathBox,
    );
  }

  private prunedNote(): string {
    const p = this.doc.pruning;
    let text =
      `Pruned: shown are the ${formatInteger(p.holders_kept)} holders retaining at least ${formatBytes(p.min_bytes)} ` +
      `(${(100 * p.min_share).toFixed(2)} % of the heap) and the ${p.top_children} largest objects each holds: ` +
      `${formatInteger(p.nodes_kept)} rows. The other ${formatInteger(p.objects_hidden)} objects are not rows of their own; ` +
      'each holder counts them in its "more" line and in its by-type view.';
    if (p.holders_dropped > 0) text += ` ${formatInteger(p.holders_dropped)} more holders above that size were left out (at most ${formatInteger(p.max_holders)} are kept).`;
    return text;
  }

  private headerRow(): HTMLElement {
    return h(
      'div',
      { class: 'row head' },
      h('span', { class: 'what' }, 'object'),
      h('span', { class: 'num' }, 'shallow'),
      h('span', { class: 'num' }, 'retained'),
      h('span', { class: 'share' }, 'share'),
      this.doc.diff ? h('span', { class: 'num' }, 'new bytes') : null,
      h('span', { class: 'act' }, ''),
    );
  }

  /** One object's row, with its children made when first opened. */
  private row(id: number, depth: number): HTMLElement {
    const n = this.doc.nodes[id]!;
    const total = this.doc.summary.bytes;
    // A kept child below the share opens too: to say how much it holds that was pruned.
    const opens = n.children.length > 0 || n.byType.length > 0 || n.more.count > 0;
    const toggle = h('button', { class: 'toggle', 'aria-label': opens ? 'open' : undefined, disabled: opens ? undefined : '' }, opens ? '▸' : '·');
    const pathButton = h('button', { class: 'path-button', title: 'how a root reaches it' }, 'path');
    const bar = h('span', { class: 'bar' });
    bar.style.width = `${Math.min(100, (100 * n.retained) / Math.max(1, total))}%`;
    const line = h(
      'div',
      { class: 'row', 'data-id': String(id), role: 'treeitem' },
      h(
        'span',
        { class: 'what' },
        toggle,
        n.name ? h('span', { class: 'name' }, n.name) : null,
        h('span', { class: 'type' }, this.typeName(n.type)),
        n.isNew ? h('span', { class: 'badge new' }, 'new') : null,
        n.unreferenced ? h('span', { class: 'badge' }, 'no referrer') : null,
      ),
      h('span', { class: 'num shallow' }, formatBytes(n.shallow)),
      h('span', { class: 'num retained', title: `${formatInteger(n.count)} objects` }, formatBytes(n.retained)),
      h('span', { class: 'share' }, h('span', { class: 'track' }, bar), percent(n.retained, total)),
      this.doc.diff ? h('span', { class: 'num newbytes' }, n.newBytes ? formatBytes(n.newBytes) : '') : null,
      h('span', { class: 'act' }, pathButton),
    );
    line.style.setProperty('--depth', String(depth));
    const box = h('div', { class: 'node' }, line);
    let kids: HTMLElement | undefined;
    toggle.addEventListener('click', () => {
      if (!opens) return;
      if (!kids) {
        kids = this.children(n, depth + 1);
        box.append(kids);
      } else kids.hidden = !kids.hidden;
      const open = !kids.hidden;
      toggle.textContent = open ? '▾' : '▸';
      toggle.setAttribute('aria-label', open ? 'close' : 'open');
      line.setAttribute('aria-expanded', String(open));
    });
    pathButton.addEventListener('click', () => this.showPath(id));
    this.rows.set(id, box);
    return box;
  }

  private children(n: TreeNode, depth: number): HTMLElement {
    const list = h('div', { class: 'kids' });
    for (const c of n.children) list.append(this.row(c, depth));
    if (n.more.count > 0) list.append(this.moreLine(n.more, depth));
    if (n.byType.length === 0) return list;
    // The same children, totalled by type: what a dict of 100,000 sessions is made of.
    const byType = h('div', { class: 'kids by-type', hidden: '' });
    for (const [t, objects, bytes] of n.byType) {
      const line = h(
        'div',
        { class: 'row type-group' },
        h('span', { class: 'what' }, h('span', { class: 'type' }, this.typeName(t)), h('span', { class: 'muted' }, ` × ${formatInteger(objects)}`)),
        h('span', { class: 'num' }, ''),
        h('span', { class: 'num retained' }, formatBytes(bytes)),
        h('span', { class: 'share' }, percent(bytes, n.retained)),
        this.doc.diff ? h('span', { class: 'num' }, '') : null,
        h('span', { class: 'act' }, ''),
      );
      line.style.setProperty('--depth', String(depth));
      byType.append(line);
    }
    const switcher = h('button', { class: 'group-button' }, 'group by type');
    switcher.addEventListener('click', () => {
      const grouped = list.hidden;
      list.hidden = !grouped;
      byType.hidden = grouped;
      switcher.textContent = grouped ? 'group by type' : 'list objects';
    });
    const bar = h('div', { class: 'kids-bar' }, switcher);
    bar.style.setProperty('--depth', String(depth));
    return h('div', { class: 'kids-box' }, bar, list, byType);
  }

  private moreLine(more: { count: number; bytes: number }, depth: number): HTMLElement {
    const line = h(
      'div',
      { class: 'row more' },
      h('span', { class: 'what muted' }, `… ${formatInteger(more.count)} more ${more.count === 1 ? 'object' : 'objects'} retaining ${formatBytes(more.bytes)} (pruned)`),
    );
    line.style.setProperty('--depth', String(depth));
    return line;
  }

  private stepText(s: PathStep): Child[] {
    return [s.via ? h('code', { class: 'via' }, s.via) : null, s.name ? h('span', { class: 'name' }, s.name) : null, h('span', { class: 'type' }, this.typeName(s.type))];
  }

  showPath(id: number): void {
    const steps: PathStep[] = [];
    for (let s = this.doc.nodes[id]!.path; s >= 0; s = this.doc.steps[s]!.up) steps.push(this.doc.steps[s]!);
    steps.reverse();
    const list = h('ol', { class: 'steps' });
    steps.forEach((s, i) => {
      if (s.skipped > 0) list.append(h('li', { class: 'skipped muted' }, `… ${formatInteger(s.skipped)} objects in between`));
      const li = h('li', { class: i === 0 ? 'root' : undefined }, ...this.stepText(s), i === 0 ? h('span', { class: 'badge' }, 'root') : null);
      if (s.node >= 0 && s.node !== id) {
        const go = h('button', { class: 'reveal' }, 'show in tree');
        go.addEventListener('click', () => this.reveal(s.node));
        li.append(go);
      }
      list.append(li);
    });
    const node = this.doc.nodes[id]!;
    this.pathBox.replaceChildren(
      h('h2', null, 'Path from a root'),
      h('p', { class: 'muted' }, `The shortest chain of references from a root (a module or a thread's frame) to this ${this.typeName(node.type)} (${formatBytes(node.retained)} retained).`),
      list,
    );
    this.pathBox.hidden = false;
    this.pathBox.scrollIntoView({ block: 'nearest' });
  }

  /** Opens the holders above a node and scrolls to it. */
  reveal(id: number): void {
    const chain: number[] = [];
    for (let p = this.doc.nodes[id]!.parent; p >= 0; p = this.doc.nodes[p]!.parent) chain.push(p);
    for (const p of chain.reverse()) {
      const box = this.rows.get(p);
      const toggle = box?.querySelector(':scope > .row .toggle');
      if (toggle && toggle.getAttribute('aria-label') === 'open') (toggle as HTMLButtonElement).click();
    }
    const row = this.rows.get(id)?.querySelector(':scope > .row');
    if (!row) return;
    for (const old of this.root.querySelectorAll('.row.focus')) old.classList.remove('focus');
    row.classList.add('focus');
    row.scrollIntoView({ block: 'center' });
  }

  private grewSection(): HTMLElement {
    const diff = this.doc.diff!;
    const t = diff.table;
    const growth = t.after.bytes - t.before.bytes;
    const table = h('div', { class: 'tree grew' });
    table.append(
      h(
        'div',
        { class: 'row head' },
        h('span', { class: 'what' }, 'holder'),
        h('span', { class: 'num' }, 'new bytes'),
        h('span', { class: 'num' }, 'retained'),
        h('span', { class: 'act' }, ''),
      ),
    );
    for (const id of diff.grew) {
      const n = this.doc.nodes[id]!;
      const go = h('button', { class: 'reveal' }, 'show in tree');
      go.addEventListener('click', () => this.reveal(id));
      table.append(
        h(
          'div',
          { class: 'row', 'data-id': String(id) },
          h('span', { class: 'what' }, n.name ? h('span', { class: 'name' }, n.name) : null, h('span', { class: 'type' }, this.typeName(n.type))),
          h('span', { class: 'num newbytes' }, formatBytes(n.newBytes ?? 0)),
          h('span', { class: 'num' }, formatBytes(n.retained)),
          h('span', { class: 'act' }, go),
        ),
      );
    }
    return h(
      'section',
      { id: 'grew', class: 'card' },
      h('h2', null, 'What grew'),
      h(
        'p',
        { class: 'verdict' },
        `${t.finding.summary.charAt(0).toUpperCase()}${t.finding.summary.slice(1)}: ${growth >= 0 ? '+' : ''}${formatBytes(growth)} (${formatBytes(t.before.bytes)} → ${formatBytes(t.after.bytes)}); ` +
          `${formatInteger(t.new_objects.count)} new objects, ${formatBytes(t.new_objects.bytes)}. Rows marked "new" in the tree are objects the earlier dump did not have.`,
      ),
      h('p', { class: 'muted' }, `The holders where the new objects gather (a holder whose growth is mostly one child's is left out). Note: ${t.caveat}.`),
      table,
    );
  }
}

function main(): void {
  const root = document.getElementById(ROOT_ELEMENT_ID);
  if (!root) return;
  const block = document.getElementById(DATA_ELEMENT_ID);
  try {
    if (!block?.textContent) throw new Error(`no #${DATA_ELEMENT_ID} data block in the page`);
    new Explorer(JSON.parse(block.textContent) as HeapTree, root).render();
  } catch (err) {
    root.replaceChildren(h('p', { class: 'fatal' }, `memwhy could not draw this page: ${String(err)}. The data is in the page source, in the #${DATA_ELEMENT_ID} block.`));
  }
}

main();
