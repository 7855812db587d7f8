/** A worker for client_test.ts. */
import { emitEvent, serveWorker, Transfer } from "./mod.ts";

class CustomError extends Error {
  override name = "CustomError";
}

export const methods = {
  echo: (x: unknown) => x,
  add: ({ a, b }: { a: number; b: number }) => a + b,
  slow: async (ms: number) => {
    await new Promise((r) => setTimeout(r, ms));
    return ms;
  },
  fail: (message: string) => {
    throw new CustomError(message);
  },
  crash: () => {
    setTimeout(() => {
      throw new Error("boom");
    }, 0);
    return "soon";
  },
  hang: () => new Promise(() => {}),
  bytes: (n: number) => {
    const b = new Uint8Array(n).fill(7);
    return new Transfer(b, [b.buffer]);
  },
  notify: (text: string) => emitEvent("note", text),
  bye: () => "bye",
};

serveWorker(methods);
