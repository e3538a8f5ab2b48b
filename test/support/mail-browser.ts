import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium } from 'playwright-core';
import type { ParsedMail } from './mime';

export interface RenderedMail {
  /** The page's text as a reader sees it. */
  visibleText: string;
  /** Inline images that loaded, with their drawn size. */
  images: { alt: string; naturalWidth: number; width: number }[];
  /** Wider than the window: the layout broke. */
  overflows: boolean;
}

/**
 * Opens a mail's HTML in headless Chromium as a mail client shows it: `cid:` references
 * replaced by the inline parts they name. Saves a screenshot when `screenshot` is given.
 */
export async function renderMail(
  mail: ParsedMail,
  { width = 800, screenshot }: { width?: number; screenshot?: string } = {},
): Promise<RenderedMail> {
  const byContentId = new Map(
    mail.leaves
      .filter((part) => part.headers['content-id'])
      .map((part) => [part.headers['content-id'].replace(/^<|>$/g, ''), part]),
  );
  const html = mail.html.replace(/cid:([^"')\s]+)/g, (reference, id: string) => {
    const part = byContentId.get(id);
    return part ? `data:${part.contentType};base64,${part.body.toString('base64')}` : reference;
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.setContent(html, { waitUntil: 'load' });
    if (screenshot) {
      mkdirSync(dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
    }
    // A string, so this file needs no DOM typings: it runs in the page.
    return await page.evaluate<RenderedMail>(`({
      visibleText: document.body.innerText,
      images: [...document.images].map((image) => ({
        alt: image.alt,
        naturalWidth: image.naturalWidth,
        width: image.width,
      })),
      overflows: document.documentElement.scrollWidth > window.innerWidth,
    })`);
  } finally {
    await browser.close();
  }
}
