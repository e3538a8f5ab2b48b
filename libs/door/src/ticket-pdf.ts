import PDFDocument from 'pdfkit';
import { create as createQrCode } from 'qrcode';
import { formatWhen } from '@app/common';

export interface PrintedTicket {
  label: string;
  ticketTypeName: string;
  code: string;
}

export interface PrintedOrder {
  orderId: string;
  event: { name: string; venue: string; startsAt: Date };
  tickets: PrintedTicket[];
}

// A ticket-shaped page (8.5 × 3.75 in): the details on the left, a stub with the QR code.
const WIDTH = 612;
const HEIGHT = 270;
const STUB_X = 372;
const MARGIN = 24;
const INK = '#1d1d29';
const MUTED = '#6b6b80';
const ACCENT = '#5b3cc4';

/** The QR code's dark modules, drawn as vector squares so it stays sharp at any zoom. */
function drawQrCode(doc: PDFKit.PDFDocument, code: string, x: number, y: number, size: number) {
  const { modules } = createQrCode(code, { errorCorrectionLevel: 'M' });
  const quiet = 4;
  const cell = size / (modules.size + 2 * quiet);
  doc.rect(x, y, size, size).fill('#ffffff');
  // One rectangle per horizontal run of dark modules: a third of the drawing operations.
  for (let row = 0; row < modules.size; row += 1) {
    let column = 0;
    while (column < modules.size) {
      if (!modules.get(row, column)) {
        column += 1;
        continue;
      }
      const start = column;
      while (column < modules.size && modules.get(row, column)) column += 1;
      doc.rect(x + (start + quiet) * cell, y + (row + quiet) * cell, (column - start) * cell, cell);
    }
  }
  doc.fill('#000000');
}

function drawTicket(
  doc: PDFKit.PDFDocument,
  order: PrintedOrder,
  ticket: PrintedTicket,
  timeZone: string,
) {
  const textWidth = STUB_X - 2 * MARGIN - 8;
  doc.rect(0, 0, WIDTH, HEIGHT).fill('#f6f4fb');
  doc.rect(0, 0, 10, HEIGHT).fill(ACCENT);

  doc.fillColor(ACCENT).font('Helvetica-Bold').fontSize(9);
  doc.text('ADMIT ONE', MARGIN, MARGIN, { characterSpacing: 2 });
  doc.fillColor(INK).font('Helvetica-Bold').fontSize(20);
  doc.text(order.event.name, MARGIN, MARGIN + 16, { width: textWidth, height: 52, ellipsis: true });

  const field = (title: string, value: string, y: number, size = 12) => {
    doc.fillColor(MUTED).font('Helvetica').fontSize(8).text(title.toUpperCase(), MARGIN, y, {
      characterSpacing: 1,
    });
    doc
      .fillColor(INK)
      .font('Helvetica-Bold')
      .fontSize(size)
      .text(value, MARGIN, y + 11, { width: textWidth, height: size * 1.3, ellipsis: true });
  };
  field('Venue', order.event.venue, 92);
  field('Starts', formatWhen(order.event.startsAt, timeZone), 126);
  field('Ticket', `${ticket.ticketTypeName}  ·  ${ticket.label}`, 160, 14);
  doc.fillColor(MUTED).font('Helvetica').fontSize(7);
  doc.text(`Order ${order.orderId}`, MARGIN, HEIGHT - MARGIN - 8, { width: textWidth });

  // The perforation between the ticket and its stub.
  doc
    .moveTo(STUB_X, 12)
    .lineTo(STUB_X, HEIGHT - 12)
    .dash(4, { space: 4 })
    .lineWidth(1)
    .stroke('#b9b3cc')
    .undash();

  const qrSize = 190;
  const qrX = STUB_X + (WIDTH - STUB_X - qrSize) / 2;
  drawQrCode(doc, ticket.code, qrX, MARGIN, qrSize);
  doc.fillColor(INK).font('Helvetica-Bold').fontSize(12);
  doc.text(ticket.label, STUB_X, MARGIN + qrSize + 8, { width: WIDTH - STUB_X, align: 'center' });
  doc.fillColor(MUTED).font('Helvetica').fontSize(7);
  doc.text('Scan at the door. Valid once.', STUB_X, MARGIN + qrSize + 24, {
    width: WIDTH - STUB_X,
    align: 'center',
  });
}

/** One page per ticket. */
export function renderTicketsPdf(order: PrintedOrder, timeZone: string): Promise<Buffer> {
  const doc = new PDFDocument({
    size: [WIDTH, HEIGHT],
    margin: 0,
    autoFirstPage: false,
    info: { Title: `Tickets: ${order.event.name}`, Subject: `Order ${order.orderId}` },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  for (const ticket of order.tickets) {
    doc.addPage();
    drawTicket(doc, order, ticket, timeZone);
  }
  doc.end();
  return done;
}
