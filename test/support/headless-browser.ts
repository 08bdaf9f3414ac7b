/**
 * Debian's chromium, driven by puppeteer-core: opens a local file, collects console errors
 * and page errors, and saves a full-page screenshot.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: the tests run as root in a container, where Chromium's sandbox cannot start.
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface OpenedPage {
  page: Page;
  /** Console messages of type error, and uncaught page errors. */
  errors: string[];
}

export async function openFile(browser: Browser, file: string, screenshot: string): Promise<OpenedPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
  return { page, errors };
}

/** Every <figure> with its SVG's drawn-element count and rendered size. */
export async function drawnCharts(page: Page): Promise<{ chart: string; elements: number; width: number; height: number }[]> {
  return page.$$eval('figure[data-chart]', (figures) => figures.map((figure) => {
    const svg = figure.querySelector('svg');
    const box = svg?.getBoundingClientRect();
    return {
      chart: figure.getAttribute('data-chart') ?? '',
      elements: svg ? svg.querySelectorAll('path, rect, circle, line, polyline, polygon').length : 0,
      width: box?.width ?? 0,
      height: box?.height ?? 0,
    };
  }));
}

/** The rows of a figures table (data-figures=id), as text. */
export async function figuresTable(page: Page, id: string): Promise<string[][]> {
  return page.$$eval(`table[data-figures="${id}"] tbody tr`, (rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')));
}
