/**
 * Docs that stay true, the checkable part: no merge-conflict markers in any tracked file, and every
 * relative link and #anchor in README.md and docs/*.md resolves (to a file of the repository, and to a
 * heading of the file it points into, by GitHub's anchor rules).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { docFiles, headingAnchors, linkTargets, readDoc, repoRoot } from "../helpers/markdown.js";

describe("merge-conflict markers", () => {
  it("are in no tracked file", () => {
    const files = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter(Boolean);
    expect(files.length).toBeGreaterThan(100);
    const offenders: string[] = [];
    // Built from parts so that this file does not hold the markers it looks for.
    const marker = new RegExp(`^(${"<".repeat(7)}( |$)|${"=".repeat(7)}$|${">".repeat(7)}( |$)|\\|{7}( |$))`, "m");
    for (const file of files) {
      const path = join(repoRoot, file);
      if (!existsSync(path) || !statSync(path).isFile()) continue;
      const bytes = readFileSync(path);
      if (bytes.includes(0)) continue; // binary
      const text = bytes.toString("utf8");
      const match = marker.exec(text);
      if (match) offenders.push(`${file}:${text.slice(0, match.index).split("\n").length}`);
    }
    expect(offenders).toEqual([]);
  });
});

describe("links in README.md and docs/", () => {
  const files = docFiles();

  it("finds the docs and their links", () => {
    expect(files).toContain("README.md");
    expect(files.length).toBeGreaterThan(5);
    expect(files.flatMap((file) => linkTargets(readDoc(file))).length).toBeGreaterThan(20);
  });

  it("resolve: every relative file exists and every #anchor names a heading", () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const target of linkTargets(readDoc(file))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        const [pathPart = "", anchor] = target.split("#", 2);
        const path = decodeURIComponent(pathPart);
        const resolved = path === "" ? file : normalize(join(dirname(file), path));
        if (resolved.startsWith("..") || !existsSync(join(repoRoot, resolved))) {
          broken.push(`${file}: ${target} (no file ${resolved})`);
          continue;
        }
        if (anchor === undefined) continue;
        if (!resolved.endsWith(".md")) {
          broken.push(`${file}: ${target} (an anchor into a file that is not Markdown)`);
          continue;
        }
        if (!headingAnchors(readDoc(resolved)).has(anchor)) broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("name only repository paths that exist", () => {
    const missing: string[] = [];
    let named = 0;
    for (const file of files) {
      // A path in a code span, such as `test/main/hub.test.ts` or `src/shared/transport/layout.ts:12`.
      for (const [, path] of readDoc(file).matchAll(/`(\.?(?:src|test|bench|examples|monitoring|scripts|demo|ci|docs)\/[\w./-]+?)(?::\d+)?`/g)) {
        named++;
        if (!existsSync(join(repoRoot, path!))) missing.push(`${file}: ${path}`);
      }
    }
    expect(named).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it("computes anchors as GitHub does", () => {
    const anchors = headingAnchors("# A `code` title: yes\n## Many processes and machines\n## Twice\n## Twice\n```\n# not a heading\n```\n");
    expect([...anchors]).toEqual(["a-code-title-yes", "many-processes-and-machines", "twice", "twice-1"]);
  });
});
