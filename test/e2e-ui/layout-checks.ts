// What "the layout holds" means, measured in the page: nothing scrolls sideways, no two rows
// of a list overlap, no card is wider than the window. Shared by the layout and screenshot specs.
import { expect, type Page } from '@playwright/test';

/** Lists whose rows must never overlap (each group: the children of one parent). */
const ROWS = [
  '.job',
  '.finished li',
  '.transfer',
  '.activity-item',
  '.table-body .table-row',
  '.release',
  '.problem-list li',
  '.tile',
  '.cap-preview-list li',
  '.banner',
  '.nav-link',
];

export interface LayoutReport {
  scrollWidth: number;
  innerWidth: number;
  /** The view's own scroll box (#main) scrolls sideways by this much. */
  mainOverflow: number;
  overlaps: string[];
  tooWide: string[];
}

/** Measures the page as it is now. */
export async function measureLayout(page: Page): Promise<LayoutReport> {
  return page.evaluate((rowSelectors) => {
    const visible = (el: Element) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    const label = (el: Element) => `${el.className || el.tagName} “${(el.textContent ?? '').trim().slice(0, 40)}”`;
    const overlaps: string[] = [];
    for (const selector of rowSelectors) {
      const groups = new Map<Element | null, Element[]>();
      for (const el of document.querySelectorAll(selector)) {
        if (!visible(el)) continue;
        const list = groups.get(el.parentElement) ?? [];
        list.push(el);
        groups.set(el.parentElement, list);
      }
      for (const list of groups.values()) {
        const boxes = list.map((el) => ({ el, r: el.getBoundingClientRect() }));
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i]!.r;
            const b = boxes[j]!.r;
            const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
            const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
            if (w > 1 && h > 1) overlaps.push(`${selector}: ${label(boxes[i]!.el)} overlaps ${label(boxes[j]!.el)}`);
          }
        }
      }
    }
    const tooWide: string[] = [];
    for (const el of document.querySelectorAll('.card, .job, .banner, .tile, .detail, .table, .page-header, dialog[open]')) {
      if (!visible(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.right > window.innerWidth + 0.5 || r.left < -0.5) tooWide.push(`${label(el)}: ${Math.round(r.left)}–${Math.round(r.right)}`);
    }
    const main = document.getElementById('main');
    return {
      scrollWidth: document.scrollingElement!.scrollWidth,
      innerWidth: window.innerWidth,
      mainOverflow: main ? main.scrollWidth - main.clientWidth : 0,
      overlaps,
      tooWide,
    };
  }, ROWS);
}

/** Fails with what is wrong: sideways scrolling, overlapping rows, cards past the window's edge. */
export async function expectLayoutHolds(page: Page, where: string): Promise<void> {
  const report = await measureLayout(page);
  expect(report.scrollWidth, `${where}: the document scrolls sideways`).toBeLessThanOrEqual(report.innerWidth);
  expect(report.mainOverflow, `${where}: the view scrolls sideways`).toBeLessThanOrEqual(0);
  expect(report.overlaps, `${where}: rows overlap`).toEqual([]);
  expect(report.tooWide, `${where}: wider than the window`).toEqual([]);
}
