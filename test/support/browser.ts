// A headless Chromium for tests: Debian's `chromium` package driven by
// playwright-core (Playwright's own browser download needs an install script
// and a CDN, neither of which this project uses). A fresh profile folder per
// launch, removed on close; everything the browser does on its own (updates,
// sync, background requests) is switched off, so the only requests it makes
// are the test's.
//
// A machine without chromium fails the test that needs it, with the command
// that installs it: a browser test that skipped itself would pass unseen.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium; CHROMIUM_PATH overrides it (another distribution's binary). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface TestBrowser {
  context: BrowserContext;
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: the browser tests need it. Install Debian's package with ` +
        '`sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium` (what .ci/run does), ' +
        'or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    );
  }
  const profile = await mkdtemp(path.join(tmpdir(), 'physlite-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: ARGS, headless: true, viewport: { width: 1280, height: 900 } });
    return {
      context,
      close: async () => {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
}
