// The last check of the build: linkinator serves the finished site on a loopback port, reads
// every page of it, and reports every link, image, script and stylesheet that does not resolve,
// and every #anchor missing from its page. Links that leave the site are not followed (there
// is no network here); those the pages make to the repository's files are checked when the
// pages are made (stage.ts).
import net from 'node:net';
import { LinkChecker, LinkState } from 'linkinator';

async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Every broken link of the site in `dir`, as "target (on page): status". */
export async function brokenLinks(dir: string): Promise<string[]> {
  const port = await freePort();
  const site = `http://127.0.0.1:${port}/`;
  const result = await new LinkChecker().check({
    // Every page: the site's navigation is drawn by a script, so not every page is linked in HTML.
    path: '**/*.html',
    serverRoot: dir,
    port,
    recurse: true,
    checkFragments: true,
    concurrency: 8,
    linksToSkip: async (link) => !link.startsWith(site),
  });
  const shown = (url: string | undefined) => url?.replace(site, '') ?? '';
  return result.links
    .filter((link) => link.state === LinkState.BROKEN)
    .map((link) => {
      // A page that is there (200) with a #fragment that is not.
      const why = link.status === 200 ? 'no element has that id' : link.status ? `HTTP ${link.status}` : 'not found';
      return `${shown(link.url)} (on ${shown(link.parent)}): ${why}`;
    });
}
