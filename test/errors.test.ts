/**
 * The error contract: the README's one table of codes against the source. Every code the source throws or
 * emits is in the table, every code in the table exists, and each row's class is the class every throw
 * site uses (and the class whose constructor takes the code).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { docFiles, readDoc, tables } from "./helpers/markdown.js";
import { ConfigurationError, ConnectionError, ErrorCodes, OperationError, PromThreadsError, ProtocolError, RecordingError } from "../src/shared/api/errors.js";

const root = new URL("../", import.meta.url).pathname;
const classes = { ConfigurationError, RecordingError, ConnectionError, ProtocolError, OperationError } as const;

interface Row {
  code: string;
  className: string;
  when: string;
}

/** The rows of the README table whose header is `| Code | Class | When |`. */
function readmeRows(): Row[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const lines = readme.split("\n");
  const header = lines.findIndex((line) => /^\|\s*Code\s*\|\s*Class\s*\|\s*When\s*\|\s*$/.test(line));
  expect(header, "README has a `| Code | Class | When |` table").toBeGreaterThanOrEqual(0);
  const rows: Row[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line.split("|").slice(1, -1).map((cell) => cell.trim());
    expect(cells, line).toHaveLength(3);
    rows.push({ code: cells[0]!.replace(/`/g, ""), className: cells[1]!.replace(/`/g, ""), when: cells[2]! });
  }
  return rows;
}

/** Every `new SomeError(ErrorCodes.X` in src/, with the file it is in. */
function throwSites(): { file: string; className: string; code: string }[] {
  const sites: { file: string; className: string; code: string }[] = [];
  const dir = join(root, "src");
  for (const file of readdirSync(dir, { recursive: true }) as string[]) {
    if (!file.endsWith(".ts")) continue;
    const source = readFileSync(join(dir, file), "utf8");
    for (const match of source.matchAll(/new\s+(\w+)\(\s*ErrorCodes\.(\w+)/g)) {
      const code = (ErrorCodes as Record<string, string>)[match[2]!] ?? `unknown key ErrorCodes.${match[2]}`;
      sites.push({ file, className: match[1]!, code });
    }
    // A code written out as a string in code (not in a comment) must exist too.
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    for (const [literal] of code.matchAll(/ERR_PROM_THREADS_[A-Z_]+/g)) sites.push({ file, className: "", code: literal });
  }
  return sites;
}

describe("the error contract", () => {
  const rows = readmeRows();
  const byCode = new Map(rows.map((row) => [row.code, row]));

  it("lists each code once, with a class and a When", () => {
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBe(byCode.size);
    for (const row of rows) {
      expect(Object.keys(classes), row.code).toContain(row.className);
      expect(row.when.length, row.code).toBeGreaterThan(10);
    }
  });

  it("lists every code of ErrorCodes, and no code that does not exist", () => {
    const known = Object.values(ErrorCodes) as string[];
    expect(known.filter((code) => !byCode.has(code))).toEqual([]);
    expect(rows.map((row) => row.code).filter((code) => !known.includes(code))).toEqual([]);
  });

  it("lists every code the source throws or emits, with the class the source uses", () => {
    const sites = throwSites();
    expect(sites.length).toBeGreaterThan(50);
    const missing = sites.filter((site) => !byCode.has(site.code)).map((site) => `${site.file}: ${site.code}`);
    expect(missing).toEqual([]);
    const wrongClass = sites
      .filter((site) => site.className !== "" && site.className !== byCode.get(site.code)?.className)
      .map((site) => `${site.file}: new ${site.className}(${site.code}), README says ${byCode.get(site.code)?.className}`);
    expect(wrongClass).toEqual([]);
  });

  it("is the one complete list: a code table elsewhere in docs/ names only its codes and links to it", () => {
    const elsewhere = docFiles()
      .filter((file) => file !== "README.md")
      .flatMap((file) =>
        tables(readDoc(file))
          .filter((table) => table.rows.some((row) => /^`ERR_PROM_THREADS_\w+`$/.test(row[0] ?? "")))
          .map((table) => ({ file, table })),
      );
    for (const { file, table } of elsewhere) {
      const unknown = table.rows.map((row) => row[0]!.replace(/`/g, "")).filter((code) => !byCode.has(code));
      expect(unknown, `${file} / ${table.heading}`).toEqual([]);
      expect(readDoc(file), file).toContain("../README.md#errors");
    }
  });

  it("builds each code with its class: instanceof, name and code agree", () => {
    for (const row of rows) {
      const ErrorClass = classes[row.className as keyof typeof classes] as unknown as new (code: string, message: string) => PromThreadsError;
      const error = new ErrorClass(row.code, "m");
      expect(error).toBeInstanceOf(PromThreadsError);
      expect(error.name).toBe(row.className);
      expect(error.toJSON()).toEqual({ code: row.code, message: "m" });
    }
  });

  it("lets the compiler refuse a code of another class", () => {
    // @ts-expect-error NO_FREE_SLOT is a ConnectionError's code
    void new ConfigurationError(ErrorCodes.NO_FREE_SLOT, "m");
    // @ts-expect-error INVALID_OPTION is a ConfigurationError's code
    void new ProtocolError(ErrorCodes.INVALID_OPTION, "m");
    // @ts-expect-error the base class is abstract: every code has a subclass
    void new PromThreadsError(ErrorCodes.INVALID_OPTION, "m");
    expect(true).toBe(true);
  });
});
