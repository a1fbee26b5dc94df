// The vaeport demo page: a drawing pad, the decoded digit with the ELBO readout, the latent sliders,
// the latent map, example tiles and a morph strip (each a widget module of its own), run by one of two
// engines (engines.mjs), the one that EngineChoice (engine-choice.mjs) has running now, with one queue
// of work (scheduler.mjs).
//
// A slider move or a press on the map decodes at once, or on the next animation frame while a decode
// runs; a pad stroke encodes once per frame; each job reads the page when it starts, so the latest
// values win. Every digit shown is
// decoded from exactly the values on the sliders: an engine puts z on the sliders' grid before it
// decodes, and the page puts those values on the sliders. A result that sets the sliders and comes
// back after the visitor moved a slider, pressed on the map or cleared the pad is dropped: the
// visitor's hand wins. The map needs only the manifest, which the page fetches for it whichever engine
// runs (and hands to the browser engine, which reads it too).
//
// Errors of a job show on the status line and go to the console, whatever their cause. For tests and
// benchmarks, the root element says which engine runs (``data-engine``, and ``data-browser`` for the
// browser engine's state); the digit, the pad and the map count what they show (digit.mjs, pad.mjs,
// map.mjs), and the readout holds the z of its figures (readout.mjs).

import {element, fromBase64} from './dom.mjs';
import {createDigit} from './digit.mjs';
import {EngineChoice} from './engine-choice.mjs';
import {ServerEngine, loadBrowserEngine} from './engines.mjs';
import {createMap} from './map.mjs';
import {createMorph} from './morph.mjs';
import {createPad} from './pad.mjs';
import {createReadout} from './readout.mjs';
import {checkManifest, createRandom, fetchStreamed} from './runtime.mjs';
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
    this.assets = new URL(config.assets, document.baseURI);
    this.error = '';
    this.last = null; // the engine that decoded the digit shown, and its time
    this.random = createRandom();
    this.noise = null; // the current stroke's standard normal noise: its posterior sample is mu + sigma * noise
    this.examples = null; // the manifest's examples, once it is loaded
    this.scheduler = new Scheduler({nextFrame, report: (error) => this.report(error)});
    this.engines = new EngineChoice(server && new ServerEngine(server, config.server.provider), () => this.engineChanged());
    this.build();
    const {initial} = config;
    this.showLatent({...initial, pixels: fromBase64(initial.pixels)}, null, `Example ${initial.digit}'s test digit, at its mu`);
    const manifest = fetchStreamed(new URL(config.manifest, this.assets));
    this.loadMap(manifest);
    this.startEngine(manifest);
  }

  build() {
    const {config, scheduler} = this;
    const {image} = config;
    this.pad = createPad(config.pad, image, {
      started: () => (this.noise = Array.from(config.sliders, () => this.random.normal())),
      stroked: () => scheduler.want('draw', this.drawJob()),
      cleared: () => {
        scheduler.touch();
        scheduler.cancel('draw');
        this.pad.showSeen(null);
      },
    });
    this.digit = createDigit(image);
    this.status = createStatus();
    this.readout = createReadout();
    this.sliders = createSliders(config, () => this.moved());
    this.map = createMap((z) => {
      this.sliders.set(z);
      this.moved();
    });
    const tiles = createTiles(config.tiles, image, (digit) =>
      this.wantLatent((engine) => engine.sample(digit), `Example ${digit}'s test digit, at the sampled z`),
    );
    this.morph = createMorph(config.morph, image, () => scheduler.want('morph', this.morphJob()));
    const button = (id, text, work) => {
      const node = element('button', {type: 'button', id, text});
      node.addEventListener('click', () => this.wantLatent(work, null));
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
      this.readout.element,
    ]);
    this.root.replaceChildren(
      element('div', {class: 'vaeport'}, [
        element('div', {class: 'columns'}, [
          this.pad.element,
          digitPanel,
          element('div', {class: 'panel stack'}, [this.sliders.element, this.map.element]),
        ]),
        tiles.element,
        this.morph.element,
      ]),
    );
  }

  /** The map of the manifest's plane, its points and its prior, once the manifest's ``bytes`` arrive. */
  async loadMap(bytes) {
    try {
      const manifest = JSON.parse(new TextDecoder().decode(await bytes));
      const {prior, latentMap} = checkManifest(manifest);
      this.examples = new Map(manifest.examples.map((example) => [example.digit, example.mu]));
      this.map.load(latentMap, prior, this.config.sliders);
      this.showPath(...this.morph.ends());
    } catch (error) {
      console.error('vaeport: the map could not load:', error);
      this.map.fail(error.message);
    }
  }

  /** Load the browser engine, when the page has one. */
  startEngine(manifest) {
    const {browser, sliders, decimals} = this.config;
    const options = {toSliders: sliderGrid(sliders, decimals), manifest};
    this.engines.startBrowser(
      browser &&
        ((onProgress, onDecoder) => loadBrowserEngine(browser, this.assets, {...options, onProgress, onDecoder})),
    );
  }

  /** Show which engine runs and, when the browser engine has just started to, the sliders' digit from it. */
  engineChanged() {
    const kind = this.engines.engine?.kind ?? 'none';
    const arrived = kind === 'browser' && this.root.dataset.engine !== 'browser';
    this.root.dataset.engine = kind;
    this.root.dataset.browser = this.engines.browser;
    this.showStatus();
    this.scheduler.setReady(Boolean(this.engines.engine));
    if (arrived) this.scheduler.want('slide', this.slideJob(false));
  }

  /** The visitor set the sliders by hand (a slider, the map): the marker follows, their digit is due. */
  moved() {
    this.map.showZ(this.sliders.values());
    this.scheduler.touch();
    this.scheduler.want('slide', this.slideJob(true));
  }

  // --- jobs (scheduler.mjs) ---

  /** The digit of the sliders' values and, when ``readout``, their log p(z) on the readout. */
  slideJob(readout) {
    return {
      run: () => this.engines.run((engine) => engine.decode(this.sliders.values())),
      show: ([{pixels, ms, figures}, engine]) => {
        this.showDigit(pixels, engine, ms);
        if (readout) this.readout.show(figures, null);
      },
    };
  }

  drawJob() {
    return {
      run: () => {
        const [drawing, noise] = [this.pad.read(), this.noise];
        return this.engines.run((engine) => engine.draw(drawing, noise), 'encoder');
      },
      show: ([result, engine]) => {
        this.pad.showSeen(result.empty ? null : result.seen);
        if (result.empty) return;
        this.showLatent(result, engine, 'Your drawing, at one posterior sample (the same noise for the whole stroke)');
        this.pad.encoded();
      },
      dropIfLate: true,
    };
  }

  /** A sample, a prior sample or the reset: ``work(engine)`` answers the latent result, for the image ``what`` names. */
  wantLatent(work, what) {
    this.scheduler.want('latent', {
      run: () => this.engines.run(work),
      show: ([result, engine]) => this.showLatent(result, engine, what),
      dropIfLate: true,
    });
  }

  morphJob() {
    return {
      run: async () => {
        const [first, second] = this.morph.ends();
        const [result] = await this.engines.run((engine) => engine.morph(first, second, this.config.morph.steps));
        return {...result, first, second};
      },
      show: ({frames, first, second}) => {
        this.morph.show(frames);
        this.showPath(first, second);
      },
    };
  }

  // --- what the page shows ---

  /**
   * A latent result (engines.mjs) on the sliders and the map, with its posterior when it has one, its
   * digit, and its figures on the readout, for the image ``what`` names (null: none).
   */
  showLatent({values, pixels, ms, figures, mu = null, logvar = null}, engine, what) {
    this.sliders.set(values);
    this.sliders.showPosterior(mu, logvar);
    this.map.showZ(values);
    this.map.showPosterior(mu, logvar);
    this.showDigit(pixels, engine, ms);
    this.readout.show(figures, what);
  }

  /** Paint a digit that ``engine`` (null: the page's configuration) decoded in ``ms``. */
  showDigit(pixels, engine, ms) {
    this.digit.show(pixels, engine, ms);
    if (engine) this.last = {engine, ms};
    this.showStatus();
  }

  /** The morph strip's path on the map, once the manifest's examples are there. */
  showPath(first, second) {
    if (this.examples) this.map.showPath(this.examples.get(first), this.examples.get(second), this.config.morph.steps);
  }

  /** How the last job ended: null, or the error it threw, which the status line shows until a job succeeds. */
  report(error) {
    if (error) console.error('vaeport:', error);
    this.error = error?.message ?? '';
    this.showStatus();
  }

  showStatus() {
    const {engine, note, progress} = this.engines;
    this.status.show({engine, ms: this.last?.engine === engine ? this.last.ms : null, note, error: this.error, progress});
  }
}
