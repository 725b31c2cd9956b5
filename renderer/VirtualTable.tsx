/**
 * A table whose body is virtualised (@tanstack/react-virtual): of `count` rows only those in view,
 * plus `overscan` on each side, are in the DOM. Two spacer rows stand in for the rest, so the table
 * keeps its native layout (columns, borders, the page's own scrolling) and its roles: assistive
 * technology reads `aria-rowcount` on the table and `aria-rowindex` on each row.
 *
 * The table scrolls with its nearest scrolling ancestor (the app's main pane); the rows above the
 * virtual ones (the header, a "lead" row such as "..") are measured and passed as the scroll margin.
 * Each rendered row is measured, together with the detail rows right after it (an error under a
 * row): rows need not all be the same height.
 *
 * Arrow Up / Down inside a row move the focus to the same column of the next / previous row, and
 * scroll it into view first when it was not rendered (Tab keeps working too: focusing a row scrolls
 * it into view, which renders the ones after it).
 */
import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';

/** What the row of index `index` must spread onto its own `<tr>`. */
export interface VirtualRowProps {
  ref: (el: HTMLTableRowElement | null) => void;
  'data-index': number;
  'aria-rowindex': number;
}

export interface VirtualTableProps {
  label: string;
  className?: string;
  /** Number of columns (for the spacer rows). */
  columns: number;
  colgroup?: ReactNode;
  /** The header row (`<tr>`); it is row 1 for aria-rowindex. */
  head: ReactNode;
  /** One row shown before the virtual ones (e.g. the parent folder), or null. */
  lead?: ReactNode;
  count: number;
  /** A stable key per index (the entry's path): keeps measurements with their row when the list changes. */
  getKey: (index: number) => string;
  /** Estimated height of one row in CSS pixels, before it is measured. */
  rowHeight: number;
  overscan?: number;
  renderRow: (index: number, props: VirtualRowProps) => ReactNode;
  testId?: string;
}

/** The nearest ancestor that scrolls vertically, else the document's scroller. */
function scrollParent(el: Element | null): HTMLElement | null {
  for (let p = el?.parentElement ?? null; p; p = p.parentElement) {
    const o = getComputedStyle(p).overflowY;
    if (o === 'auto' || o === 'scroll' || o === 'overlay') return p;
  }
  return (document.scrollingElement as HTMLElement | null) ?? document.documentElement;
}

/** A rendered row's height, with the detail rows that follow it (rows without data-index and not spacers). */
function rowBlockHeight(el: HTMLTableRowElement): number {
  let h = el.getBoundingClientRect().height;
  for (let n = el.nextElementSibling; n && !n.hasAttribute('data-index') && !n.hasAttribute('data-spacer'); n = n.nextElementSibling) {
    h += n.getBoundingClientRect().height;
  }
  return h;
}

/**
 * The height rows of a table (by class name) were last measured at: the next table of that kind
 * starts from it, so its first rows measure as estimated and need no second render.
 */
const learned = new Map<string, number>();

export function VirtualTable(p: VirtualTableProps) {
  const tableRef = useRef<HTMLTableElement>(null);
  const headRef = useRef<HTMLTableSectionElement>(null);
  const bodyRef = useRef<HTMLTableSectionElement>(null);
  const scroller = useRef<HTMLElement | null>(null);
  const getScrollElement = useCallback(() => (scroller.current ??= scrollParent(tableRef.current)), []);
  const kind = p.className ?? '';
  const estimate = learned.get(kind) ?? p.rowHeight;
  const overscan = p.overscan ?? 8;
  // The scroll margin is read at every render; a change re-renders only when it is larger than the
  // overscan can absorb (any scroll re-renders with the exact value anyway).
  const margin = useRef(0);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const virtualizer = useVirtualizer<HTMLElement, HTMLTableRowElement>({
    count: p.count,
    getScrollElement,
    estimateSize: () => estimate,
    overscan,
    scrollMargin: margin.current,
    getItemKey: p.getKey,
    measureElement: (el) => {
      const h = rowBlockHeight(el);
      const next = el.nextElementSibling;
      if (!next || next.hasAttribute('data-index') || next.hasAttribute('data-spacer')) learned.set(kind, h); // a row without detail rows
      return h;
    },
  });

  // Where the first virtual row starts in the scroller's content: below the header and the lead
  // row. Re-measured after every render (the alerts, forms and bars above the table come and go)
  // and whenever the scroller's content changes size.
  const hasLead = !!p.lead;
  const remeasure = useCallback(() => {
    const el = getScrollElement();
    const anchor = hasLead ? bodyRef.current?.rows[0] : headRef.current;
    if (!el || !anchor) return;
    const m = anchor.getBoundingClientRect().bottom - el.getBoundingClientRect().top - el.clientTop + el.scrollTop;
    const moved = Math.abs(m - margin.current);
    margin.current = m;
    if (moved > (overscan / 2) * estimate) rerender();
  }, [getScrollElement, hasLead, overscan, estimate]);
  useLayoutEffect(remeasure);
  useEffect(() => {
    const el = getScrollElement();
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(remeasure);
    for (const c of Array.from(el.children)) ro.observe(c);
    return () => ro.disconnect();
  }, [getScrollElement, remeasure]);

  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const last = items[items.length - 1];
  const m = virtualizer.options.scrollMargin;
  const top = first ? first.start - m : 0;
  const bottom = last ? virtualizer.getTotalSize() - (last.end - m) : 0;
  const firstIndex = p.lead ? 3 : 2; // aria-rowindex of row 0: after the header (and the lead row)

  /** Arrow Up / Down: the same column of the neighbouring row (rendered first if it was not). */
  const onKeyDown = (e: KeyboardEvent<HTMLTableSectionElement>) => {
    if ((e.key !== 'ArrowDown' && e.key !== 'ArrowUp') || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const target = e.target as HTMLElement;
    if (target.tagName === 'SELECT' || (target.tagName === 'INPUT' && (target as HTMLInputElement).type !== 'checkbox')) return;
    const row = target.closest<HTMLTableRowElement>('tr[data-index]');
    const cell = target.closest('td');
    if (!row || !cell) return;
    const next = Number(row.dataset.index) + (e.key === 'ArrowDown' ? 1 : -1);
    if (next < 0 || next >= p.count) return;
    e.preventDefault();
    const column = cell.cellIndex;
    virtualizer.scrollToIndex(next, { align: 'auto' });
    const focusIn = (tries: number) => {
      const tr = tableRef.current?.querySelector<HTMLTableRowElement>(`tr[data-index="${next}"]`);
      const td = tr?.cells[column];
      const focusable = td?.querySelector<HTMLElement>('button, input, a[href], [tabindex]') ?? tr?.querySelector<HTMLElement>('button, input');
      if (focusable) focusable.focus();
      else if (tries > 0) requestAnimationFrame(() => focusIn(tries - 1));
    };
    focusIn(10);
  };

  return (
    <table ref={tableRef} aria-label={p.label} aria-rowcount={p.count + firstIndex - 1} className={p.className} data-testid={p.testId}>
      {p.colgroup}
      <thead ref={headRef}>{p.head}</thead>
      <tbody ref={bodyRef} onKeyDown={onKeyDown}>
        {p.lead}
        {top > 0 && <tr className="spacer" aria-hidden="true" data-spacer=""><td colSpan={p.columns} style={{ height: top }} /></tr>}
        {items.map((it) => p.renderRow(it.index, { ref: virtualizer.measureElement, 'data-index': it.index, 'aria-rowindex': it.index + firstIndex }))}
        {bottom > 0 && <tr className="spacer" aria-hidden="true" data-spacer=""><td colSpan={p.columns} style={{ height: bottom }} /></tr>}
      </tbody>
    </table>
  );
}
