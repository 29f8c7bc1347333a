/**
 * Read the repository's Markdown the way the docs tests need it: files, tables under headings, links and
 * GitHub-style heading anchors.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export const repoRoot = new URL("../../", import.meta.url).pathname;

/** README.md and every docs/*.md, as paths relative to the repository root. */
export function docFiles(): string[] {
  const docs = readdirSync(join(repoRoot, "docs"))
    .filter((file) => file.endsWith(".md"))
    .sort()
    .map((file) => `docs/${file}`);
  return ["README.md", ...docs];
}

/** The text of a file relative to the repository root. */
export function readDoc(file: string): string {
  return readFileSync(join(repoRoot, file), "utf8");
}

/** The lines of `text` outside fenced code blocks (fences and their contents become empty lines). */
export function proseLines(text: string): string[] {
  let fenced = false;
  return text.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line;
  });
}

/** A Markdown table: the heading it sits under, its header cells and its rows' cells. */
export interface Table {
  heading: string;
  header: string[];
  rows: string[][];
}

function cells(line: string): string[] {
  // Split on pipes that are not escaped and not inside backticks.
  const out: string[] = [];
  let cell = "";
  let code = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "`") code = !code;
    if (ch === "\\" && line[i + 1] === "|") {
      cell += "|";
      i++;
      continue;
    }
    if (ch === "|" && !code) {
      out.push(cell.trim());
      cell = "";
      continue;
    }
    cell += ch;
  }
  out.push(cell.trim());
  return out.slice(1, -1);
}

/** Every table of a Markdown text, with the nearest heading above it. */
export function tables(text: string): Table[] {
  const lines = proseLines(text);
  const found: Table[] = [];
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, "").trim();
    if (line.startsWith("|") && /^\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(lines[i + 1] ?? "")) {
      const table: Table = { heading, header: cells(line), rows: [] };
      let j = i + 2;
      for (; j < lines.length && lines[j]!.startsWith("|"); j++) table.rows.push(cells(lines[j]!));
      found.push(table);
      i = j - 1;
    }
  }
  return found;
}

/** The GitHub anchor of a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const match = /^#{1,6} (.*)$/.exec(line);
    if (!match) continue;
    const base = match[1]!
      .trim()
      .replace(/<[^>]+>/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id] of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(id!);
  return anchors;
}

/** The link targets of a Markdown text outside code: inline links, images and reference definitions. */
export function linkTargets(text: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, "");
    for (const [, target] of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(target!);
    const definition = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(prose);
    if (definition) targets.push(definition[1]!);
    for (const [, target] of prose.matchAll(/<(?:img|a)\s[^>]*(?:src|href)="([^"]+)"/g)) targets.push(target!);
  }
  return targets;
}
