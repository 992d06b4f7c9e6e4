// The little Markdown the site build needs: headings and their anchors as GitHub makes them
// (the README's links are written for GitHub), and the links of a text, outside code.

/** GitHub's anchor for a heading's text. */
export function githubSlug(heading: string): string {
  return plainText(heading)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/** A heading's text without its Markdown: link targets, code marks, emphasis. */
export function plainText(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim();
}

export interface Heading {
  readonly level: number;
  readonly text: string;
  /** Its anchor on GitHub (repeated headings get -1, -2, … as there). */
  readonly slug: string;
  /** 0-based line index. */
  readonly line: number;
}

/** Calls `each` with every line outside fenced code blocks and its index. */
function eachProseLine(markdown: string, each: (line: string, index: number) => string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line, index) => {
      const mark = /^\s*(```+|~~~+)/.exec(line)?.[1];
      if (mark && (fence === undefined || mark.startsWith(fence))) {
        fence = fence === undefined ? mark : undefined;
        return line;
      }
      return fence === undefined ? each(line, index) : line;
    })
    .join('\n');
}

/** The headings of a Markdown text (outside code blocks), with GitHub's anchors. */
export function headings(markdown: string): Heading[] {
  const found: Heading[] = [];
  const seen = new Map<string, number>();
  eachProseLine(markdown, (line, index) => {
    const match = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (match) {
      const base = githubSlug(match[2]!);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      found.push({ level: match[1]!.length, text: match[2]!, slug: count ? `${base}-${count}` : base, line: index });
    }
    return line;
  });
  return found;
}

export interface Link {
  readonly image: boolean;
  readonly text: string;
  readonly target: string;
}

/**
 * The Markdown with each inline link's target replaced by `rewrite(link)`, outside fenced code
 * blocks and code spans (where `args[0](x)` is code, not a link).
 */
export function rewriteLinks(markdown: string, rewrite: (link: Link) => string): string {
  return eachProseLine(markdown, (line) =>
    line.replace(
      // A code span (left as it is), or a link, whose text may hold code spans.
      /(`+)[^`]*?\1|(!?)\[((?:[^\]`]|`[^`]*`)*)\]\(([^)\s]+)\)/g,
      (all, code: string | undefined, bang: string, text: string, target: string) =>
        code ? all : `${bang}[${text}](${rewrite({ image: bang === '!', text, target })})`,
    ),
  );
}

/** The link targets of a Markdown text (outside code). */
export function links(markdown: string): Link[] {
  const found: Link[] = [];
  rewriteLinks(markdown, (link) => {
    found.push(link);
    return link.target;
  });
  return found;
}
