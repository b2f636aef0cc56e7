import type { Page } from 'playwright-core';

/**
 * Waits until a page-side expression is true. Playwright's waitForFunction polls by evaluating a string inside the
 * page, which the workbench's CSP (no 'unsafe-eval') forbids, so it fails whenever the first check is false. This
 * polls from Node instead: page.evaluate of a string goes through the debugger protocol, which CSP does not govern.
 */
export async function waitForPage(page: Page, expression: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(expression)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${expression}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
