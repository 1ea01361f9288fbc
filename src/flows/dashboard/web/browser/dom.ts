/** Small DOM helpers of the dashboard page (text only: nothing here parses HTML). */

/** A new element with its text (numbers written as they are) and class. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string | number | null, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

/** An element the page's HTML always has (dashboard-page.ts): missing means the page and script parted. */
export function must<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`dashboard page has no #${id}`);
  return e as T;
}
