// The page's one queue of work. Jobs run one at a time: a job asked for while the queue is idle starts
// at once (a press on the map mid-frame shows its digit with the next frame), and each job after it
// waits for the next animation frame, so no more than one starts per frame while input streams in. And:
//
// - the latest values win: a job asked for under a kind that already waits replaces the waiting one
//   (ten clicks on a tile while the server is slow: one sample), and a job reads its inputs when it
//   starts (a slider dragged across fifty values in one frame: one decode, of the value it ended on);
// - what arrives late is dropped: a job marked ``dropIfLate`` whose result comes back after the
//   visitor's hand changed the page since it was asked for (``touch()``: a slider moved, the pad
//   cleared), while it waited or while it ran, is not shown, so a result never undoes what the
//   visitor did meanwhile.
//
// A job is ``{run, show, dropIfLate}``: ``await run()`` computes a result, ``show(result)`` puts it on
// the page. ``report(error)`` hears how each job ended: null when it was shown or dropped, else the
// error it threw; the queue carries on either way.

export class Scheduler {
  #waiting = new Map(); // kind -> job, in the order asked for
  #running = false;
  #ready = false;
  #touches = 0;

  /** ``nextFrame()`` resolves at the next animation frame. */
  constructor({nextFrame, report}) {
    this.nextFrame = nextFrame;
    this.report = report;
  }

  /** Queue ``job`` under ``kind``, in place of a job of that kind that has not started. */
  want(kind, job) {
    this.#waiting.delete(kind);
    this.#waiting.set(kind, {...job, touches: this.#touches});
    this.#pump();
  }

  /** Forget the job of ``kind`` that has not started, if any. */
  cancel(kind) {
    this.#waiting.delete(kind);
  }

  /** The visitor changed the page by hand: results of ``dropIfLate`` jobs asked for before now are dropped. */
  touch() {
    this.#touches += 1;
  }

  /** Whether jobs may run (an engine is there to run them); jobs asked for meanwhile wait. */
  setReady(ready) {
    this.#ready = ready;
    this.#pump();
  }

  async #pump() {
    if (this.#running || !this.#ready) return;
    this.#running = true;
    try {
      for (let first = true; this.#ready && this.#waiting.size; first = false) {
        if (!first) await this.nextFrame();
        const [kind, job] = this.#waiting.entries().next().value ?? [];
        if (!job) break;
        this.#waiting.delete(kind);
        await this.#runJob(job);
      }
    } finally {
      this.#running = false;
    }
  }

  async #runJob({run, show, dropIfLate = false, touches}) {
    try {
      const result = await run();
      if (!(dropIfLate && touches !== this.#touches)) await show(result);
      this.report(null);
    } catch (error) {
      this.report(error);
    }
  }
}
