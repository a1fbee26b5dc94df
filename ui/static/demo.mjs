// The vaeport demo page: a drawing pad, the decoded digit, the latent sliders, example tiles and a
// morph strip (each a widget module of its own), run by one of two engines (engines.mjs), the one
// that EngineChoice (engine-choice.mjs) has running now, with one queue of work (scheduler.mjs).
//
// A slider move decodes on the next animation frame, a pad stroke encodes once per frame; both read
// the page when their job starts, so the latest values win. Every digit shown is decoded from exactly
// the values on the sliders: an engine puts z on the sliders' grid before it decodes, and the page
// puts those values on the sliders. A result that sets the sliders and comes back after the visitor
// moved a slider or cleared the pad is dropped: the visitor's hand wins.
//
// Errors of a job show on the status line and go to the console, whatever their cause. For tests and
// benchmarks, the root element says which engine runs (``data-engine``, and ``data-browser`` for the
// browser engine's state); the digit and the pad count what they show (digit.mjs, pad.mjs).

import {element, fromBase64} from './dom.mjs';
import {createDigit} from './digit.mjs';
import {EngineChoice} from './engine-choice.mjs';
import {ServerEngine, loadBrowserEngine} from './engines.mjs';
import {createMorph} from './morph.mjs';
import {createPad} from './pad.mjs';
import {Scheduler} from './scheduler.mjs';
import {createSliders, sliderGrid} from './sliders.mjs';
import {createStatus} from './status.mjs';
import {createTiles} from './tiles.mjs';

export {loadBrowserEngine} from './engines.mjs';

/** Start the demo in ``root`` (an empty element) with the page ``config`` that the Python side wrote
 * (ui/page.py), and ``server``, the page's server functions, when a server runs the model too. */
export function start(root, config, server = null) {
  addStylesheet(new URL('demo.css', import.meta.url));
  return new DemoPage(root, config, server);
}

function addStylesheet(href) {
  if (![...document.styleSheets].some((sheet) => sheet.href === href.href)) {
    document.head.append(Object.assign(document.createElement('link'), {rel: 'stylesheet', href: href.href}));
  }
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

class DemoPage {
  constructor(root, config, server) {
    this.root = root;
    this.config = config;
    this.error = '';
    this.last = null; // the engine that decoded the digit shown, and its time
    this.scheduler = new Scheduler({nextFrame, report: (error) => this.report(error)});
    this.engines = new EngineChoice(server && new ServerEngine(server, config.server.provider), () => this.engineChanged());
    this.build();
    this.showLatent({...config.initial, pixels: fromBase64(config.initial.pixels)}, null);
    this.startEngine();
  }

  build() {
    const {config, scheduler} = this;
    const {image} = config;
    this.pad = createPad(config.pad, image, {
      stroked: () => scheduler.want('draw', this.drawJob()),
      cleared: () => {
        scheduler.touch();
        scheduler.cancel('draw');
        this.pad.showSeen(null);
      },
    });
    this.digit = createDigit(image);
    this.status = createStatus();
    this.sliders = createSliders(config, () => {
      scheduler.touch();
      scheduler.want('slide', this.slideJob());
    });
    const tiles = createTiles(config.tiles, image, (digit) => this.wantLatent((engine) => engine.sample(digit)));
    this.morph = createMorph(config.morph, image, () => scheduler.want('morph', this.morphJob()));
    const button = (id, text, work) => {
      const node = element('button', {type: 'button', id, text});
      node.addEventListener('click', () => this.wantLatent(work));
      return node;
    };
    const zero = new Array(config.sliders.length).fill(0);
    const digitPanel = element('section', {class: 'panel digit-panel'}, [
      element('h3', {text: 'Decoded digit'}),
      this.digit.element,
      this.status.element,
      element('div', {class: 'buttons'}, [
        button('prior', 'Sample from the prior', (engine) => engine.prior()),
        button('reset', 'Reset to zero', (engine) => engine.decode(zero)),
      ]),
    ]);
    this.root.replaceChildren(
      element('div', {class: 'vaeport'}, [
        element('div', {class: 'columns'}, [this.pad.element, digitPanel, this.sliders.element]),
        tiles.element,
        this.morph.element,
      ]),
    );
  }

  /** Load the browser engine (when the page has one) and, once it runs, show the sliders' digit from it. */
  async startEngine() {
    const {browser, assets, sliders, decimals} = this.config;
    const toSliders = sliderGrid(sliders, decimals);
    await this.engines.startBrowser(browser && (() => loadBrowserEngine(browser, new URL(assets, document.baseURI), toSliders)));
    if (this.engines.browser === 'ready') this.scheduler.want('slide', this.slideJob());
  }

  engineChanged() {
    this.root.dataset.engine = this.engines.engine?.kind ?? 'none';
    this.root.dataset.browser = this.engines.browser;
    this.showStatus();
    this.scheduler.setReady(Boolean(this.engines.engine));
  }

  // --- jobs (scheduler.mjs) ---

  slideJob() {
    return {
      run: () => this.engines.run((engine) => engine.decode(this.sliders.values())),
      show: ([{pixels, ms}, engine]) => this.showDigit(pixels, engine, ms),
    };
  }

  drawJob() {
    return {
      run: () => {
        const drawing = this.pad.read();
        return this.engines.run((engine) => engine.draw(drawing));
      },
      show: ([result, engine]) => {
        this.pad.showSeen(result.empty ? null : result.seen);
        if (result.empty) return;
        this.showLatent(result, engine);
        this.pad.encoded();
      },
      dropIfLate: true,
    };
  }

  /** A sample, a prior sample or the reset: ``work(engine)`` answers the latent result to show. */
  wantLatent(work) {
    this.scheduler.want('latent', {
      run: () => this.engines.run(work),
      show: ([result, engine]) => this.showLatent(result, engine),
      dropIfLate: true,
    });
  }

  morphJob() {
    return {
      run: () => {
        const [first, second] = this.morph.ends();
        return this.engines.run((engine) => engine.morph(first, second, this.config.morph.steps));
      },
      show: ([{frames}]) => this.morph.show(frames),
    };
  }

  // --- what the page shows ---

  /** A latent result (engines.mjs) on the sliders, with its posterior when it has one, and its digit. */
  showLatent({values, pixels, ms, mu = null, logvar = null}, engine) {
    this.sliders.set(values);
    this.sliders.showPosterior(mu, logvar);
    this.showDigit(pixels, engine, ms);
  }

  /** Paint a digit that ``engine`` (null: the page's configuration) decoded in ``ms``. */
  showDigit(pixels, engine, ms) {
    this.digit.show(pixels, engine, ms);
    if (engine) this.last = {engine, ms};
    this.showStatus();
  }

  /** How the last job ended: null, or the error it threw, which the status line shows until a job succeeds. */
  report(error) {
    if (error) console.error('vaeport:', error);
    this.error = error?.message ?? '';
    this.showStatus();
  }

  showStatus() {
    const {engine, note} = this.engines;
    this.status.show({engine, ms: this.last?.engine === engine ? this.last.ms : null, note, error: this.error});
  }
}
