// Page text as Firefox's PDF viewer gives it: pdf.js getTextContent(), each item's string in
// order, a line break after an item that ends a line (hasEOL), as the viewer's text layer
// lays out its spans for copy and find. One JSON array of page texts on stdout.
// Usage: node tests/js/pdfjs_text.mjs FILE.pdf
// Prints {"pages": [...], "warnings": [...]}: pdf.js's own warnings (a font it cannot load, a
// broken object) are collected, not mixed into the text.
import { readFile } from "node:fs/promises";
import { getDocument, VerbosityLevel } from "pdfjs-dist/legacy/build/pdf.mjs";

const [file] = process.argv.slice(2);
if (!file) {
  console.error("usage: node pdfjs_text.mjs FILE.pdf");
  process.exit(2);
}
const warnings = [];
// pdf.js reports problems with console.log and console.warn ("Warning: ..."): keep them apart from the text.
console.log = console.warn = (...args) => warnings.push(args.join(" "));
const data = new Uint8Array(await readFile(file));
const doc = await getDocument({
  data,
  verbosity: VerbosityLevel.WARNINGS,
  useSystemFonts: false,
  isEvalSupported: false,
}).promise;
const pages = [];
for (let n = 1; n <= doc.numPages; n++) {
  const page = await doc.getPage(n);
  const content = await page.getTextContent();
  let text = "";
  for (const item of content.items) {
    if (!("str" in item)) continue; // marked-content boundaries
    text += item.str;
    if (item.hasEOL) text += "\n";
  }
  pages.push(text);
  page.cleanup();
}
await doc.destroy();
process.stdout.write(JSON.stringify({ pages, warnings }));
