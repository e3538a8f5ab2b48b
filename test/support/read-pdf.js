// Reads a PDF from stdin and prints { text, pages, qrCodes } as JSON: its text (pdf-parse), and
// what a phone camera reads off each page — the page rendered to pixels by pdf.js, then the
// QR code found and decoded in them (jsQR). A child process because pdf.js loads its worker
// with a dynamic import(), which Jest's module system does not run.
const { createCanvas, loadImage } = require('@napi-rs/canvas');
const jsQR = require('jsqr');
const { PDFParse } = require('pdf-parse');

async function qrCodeOf(png) {
  const image = await loadImage(Buffer.from(png));
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height);
  return jsQR(pixels.data, image.width, image.height)?.data ?? null;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const parser = new PDFParse({ data: new Uint8Array(Buffer.concat(chunks)) });
  try {
    const { text, total } = await parser.getText();
    const screenshots = await parser.getScreenshot({ scale: 2, imageDataUrl: false });
    const qrCodes = [];
    for (const page of screenshots.pages) qrCodes.push(await qrCodeOf(page.data));
    process.stdout.write(JSON.stringify({ text, pages: total, qrCodes }));
  } finally {
    await parser.destroy();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
