// Headless Chromium for the tests, from Debian's `chromium` package (npm brings no browser here:
// playwright-core only drives one). Where it is missing the test is skipped, with the reason and
// the command that installs it; under REQUIRE_ALL_DRIVERS=1 (CI, which installs it) the test
// runs and fails instead, as the database servers' tests do.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { allDriversRequired, REQUIRE_ALL_DRIVERS } from '../../examples/users-api/test/support/drivers.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'sudo apt-get install chromium';
const missing = `Chromium is not installed (no ${CHROMIUM})`;

/** node:test's `skip` for a test that needs Chromium. */
export function chromiumSkip(): string | false {
  if (fs.existsSync(CHROMIUM) || allDriversRequired()) return false;
  return `${missing}; to run this test: ${CHROMIUM_INSTALL}`;
}

export interface Browser {
  newPage(): Promise<Page>;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile, on nothing but what the test gives it. */
export async function openChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${missing}. ${REQUIRE_ALL_DRIVERS} is set, so the tests that need it fail instead of being skipped. Install it: ${CHROMIUM_INSTALL}`,
    );
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-chromium-'));
  // headless: true passes --headless; the profile is the fresh --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
