// Which engine runs the model for the page, and the move to the server when the browser engine fails.
//
// The page starts on the server (when it has one) while the browser engine loads, moves to the
// browser once its decoder is in (the pad's strokes, which need the encoder, stay on the server until
// that is in too; a static site says the encoder is still loading), and goes back to the server for
// good, saying why, if the browser engine cannot start or fails at run time; the call that failed is
// made again on the server, so the visitor's action is not lost. A static site has no server: there
// the page waits for the browser engine, says so when it cannot start, and keeps it when one call
// fails, reporting the error, so that the next action tries again.

import {VisitorError} from './engines.mjs';
import {progressText} from './progress.mjs';

const LOADING = 'loading the model in this browser';

export class EngineChoice {
  /** ``engine``: the one that runs the model now, or null; ``browser``: off, loading, ready or failed;
   * ``note``: why the page is not running where it would; ``progress``: the browser engine's downloads,
   * ``{received, total}`` bytes, while it loads, else null. */
  engine = null;
  browser = 'off';
  note = '';
  progress = null;

  /** ``server``: the server engine or null; ``changed()`` is called after every change of the above. */
  constructor(server, changed) {
    this.server = server;
    this.changed = changed;
  }

  /** Load the browser engine with ``load(onProgress, onDecoder)`` (null: in-browser inference is off),
   * which reports its downloads' ``{received, total}`` to ``onProgress``, hands over the engine to
   * ``onDecoder`` once its decoder is in, and resolves once its encoder is in too; move to it. */
  async startBrowser(load) {
    if (!load) {
      this.#set(this.server, 'off', 'in-browser inference is off');
      return;
    }
    this.#set(this.server, 'loading', `${LOADING}…`);
    let engine;
    try {
      engine = await load((progress) => {
        if (this.browser !== 'loading') return; // a download that goes on after another one failed
        this.progress = progress;
        this.#set(this.engine, 'loading', `${LOADING}: ${progressText(progress)}`);
      }, (decoding) => this.#set(decoding, 'loading', this.note));
    } catch (error) {
      this.#giveUp(`the browser engine could not start: ${error.message}`, error);
      return;
    }
    this.progress = null;
    this.#set(engine, 'ready', '');
  }

  /**
   * ``[await work(engine), engine]``; when the browser engine fails, ``work`` again on the server,
   * for good. With no server to move to, the browser engine stays and the error goes to the caller:
   * the page reports it, and the next action tries again. Work that ``needs`` a graph the browser
   * engine does not have yet runs on the server; with no server, it is refused with a VisitorError
   * that says so.
   */
  async run(work, needs = null) {
    let engine = this.engine;
    if (!engine) throw new Error('no engine can run the model');
    if (needs && engine.kind === 'browser' && !engine.has(needs)) {
      if (!this.server) throw new VisitorError(`the ${needs} is still loading in this browser: try again once it is in`);
      engine = this.server;
    }
    try {
      return [await work(engine), engine];
    } catch (error) {
      if (engine.kind !== 'browser' || error instanceof VisitorError || !this.server) throw error;
      this.#giveUp(`the browser engine failed: ${error.message}`, error);
      return [await work(this.engine), this.engine];
    }
  }

  #giveUp(reason, error) {
    console.error(`vaeport: ${reason}`, error);
    this.progress = null;
    this.#set(this.server, 'failed', this.server ? reason : `${reason}; this page needs the model in the browser`);
  }

  #set(engine, browser, note) {
    Object.assign(this, {engine, browser, note});
    this.changed();
  }
}
