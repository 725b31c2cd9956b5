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
import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
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

export function VirtualTable(p: VirtualTableProps) {
  const tableRef = useRef<HTMLTableElement>(null);
  const headRef = useRef<HTMLTableSectionElement>(null);
  const bodyRef = useRef<HTMLTableSectionElement>(null);
  const scroller = useRef<HTMLElement | null>(null);
  const getScrollElement = useCallback(() => (scroller.current ??= scrollParent(tableRef.current)), []);
  const [margin, setMargin] = useState(0);
  const virtualizer = useVirtualizer<HTMLElement, HTMLTableRowElement>({
    count: p.count,
    getScrollElement,
    estimateSize: () => p.rowHeight,
    overscan: p.overscan ?? 8,
    scrollMargin: margin,
    getItemKey: p.getKey,
    measureElement: rowBlockHeight,
  });

  // Where the first virtual row starts in the scroller's content: below the header and the lead
  // row. Re-measured after every render (the alerts, forms and bars above the table come and go)
  // and whenever the scroller's content changes size.
  const [, relayout] = useReducer((n: number) => n + 1, 0);
  useLayoutEffect(() => {
    const el = getScrollElement();
    const anchor = p.lead ? bodyRef.current?.rows[0] : headRef.current;
    if (!el || !anchor) return;
    const m = anchor.getBoundingClientRect().bottom - el.getBoundingClientRect().top - el.clientTop + el.scrollTop;
    if (Math.abs(m - margin) >= 0.5) setMargin(m);
  });
  useEffect(() => {
    const el = getScrollElement();
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => relayout());
    for (const c of Array.from(el.children)) ro.observe(c);
    return () => ro.disconnect();
  }, [getScrollElement]);

  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const last = items[items.length - 1];
  const top = first ? first.start - margin : 0;
  const bottom = last ? virtualizer.getTotalSize() - (last.end - margin) : 0;
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
