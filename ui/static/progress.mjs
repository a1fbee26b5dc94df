// The browser engine's downloads as one count: the bytes received of each file against the sizes the
// page knows before it asks for them (onnxruntime-web's files from ort-web.json, the graphs from the
// manifest), for the status line's "2.1 of 4.6 MB" and its bar. The bytes are counted as they
// stream in (runtime.mjs's fetchStreamed), decompressed, as the sizes are.

export class Downloads {
  /** ``sizes``: ``{name: bytes}`` of every file to come; ``changed({received, total})`` after each chunk. */
  constructor(sizes, changed) {
    this.sizes = sizes;
    this.received = Object.fromEntries(Object.keys(sizes).map((name) => [name, 0]));
    this.changed = changed;
  }

  /** The ``onProgress`` of file ``name``'s download: it takes the bytes of that file received so far. */
  track(name) {
    if (!Object.hasOwn(this.sizes, name)) throw new Error(`no download named ${name}; expected one of ${Object.keys(this.sizes).join(', ')}`);
    return (received) => {
      this.received[name] = received;
      this.changed(this.progress());
    };
  }

  /** ``{received, total}`` in bytes: a file larger than its size counts its real length in the total. */
  progress() {
    const names = Object.keys(this.sizes);
    const received = names.reduce((sum, name) => sum + this.received[name], 0);
    const total = names.reduce((sum, name) => sum + Math.max(this.sizes[name], this.received[name]), 0);
    return {received, total};
  }
}

/** "2.1 of 4.6 MB" (megabytes of 10^6 bytes, one decimal). */
export function progressText({received, total}) {
  const mb = (bytes) => (bytes / 1e6).toFixed(1);
  return `${mb(received)} of ${mb(total)} MB`;
}
