/**
 * The child process that reads one PDF (started by `SandboxedPdfReader`): it receives the bytes and options over
 * IPC, reads the file with pdf.js, sends back the text or the error as data, and exits. Whatever the file does to
 * pdf.js (a gigabyte of inflated stream, a parse that never yields) happens here, where the parent can kill it.
 */
import { PdfReadError, readPdf } from './pdf.js';
import type { PdfChildReply, PdfChildRequest } from './pdfSandbox.js';

process.once('message', (message: PdfChildRequest) => {
  void answer(message).then((reply) => process.send!(reply, () => process.exit(0)));
});
// Messages sent before a listener exists are lost: the parent sends the file only once it hears this.
process.send!({ ready: true } satisfies PdfChildReply);

async function answer({ bytes, options }: PdfChildRequest): Promise<PdfChildReply> {
  try {
    return { ok: true, document: await readPdf(bytes, options) };
  } catch (error) {
    if (error instanceof PdfReadError) return { ok: false, problem: error.problem, message: error.message };
    return { ok: false, message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}
