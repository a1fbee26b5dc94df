// The ELBO readout (``#elbo``): for the current drawing or example tile, the figures the model is
// trained and measured on, for that one image, in nats; for a z with no image behind it (set by the
// sliders, the map, a prior sample or the reset), log p(z) alone: how typical this z is under the prior.
//
// Each figure's value is an element with ``data-figure`` (its name), and ``#elbo`` holds the z they
// were taken at as JSON in ``data-z``, for the tests.

import {element} from './dom.mjs';

const ROWS = [
  ['recon_bce', 'reconstruction BCE', 'the decoded probabilities against the image, summed over its pixels'],
  ['kl', 'KL estimate', 'log q(z|x) − log p(z), at the same z'],
  ['neg_elbo', 'negative ELBO', 'their sum: what the model is trained and measured on'],
  ['log_pz', 'log p(z)', 'the density of z under the prior'],
];

export function createReadout() {
  const title = element('p', {class: 'readout-title'});
  const table = element('dl');
  const holder = element('div', {id: 'elbo', class: 'readout', 'aria-live': 'polite'}, [title, table]);
  return {
    element: holder,

    /** ``figures`` (a latent result's, engines.mjs) for ``what``: the image they are for, or null for z alone. */
    show(figures, what) {
      title.textContent = what ? `${what}, in nats:` : 'This z, with no image behind it, in nats:';
      table.replaceChildren(
        ...ROWS.filter(([name]) => name in figures).flatMap(([name, label, meaning]) => [
          element('dt', {text: label, title: meaning}),
          element('dd', {'data-figure': name, text: figures[name].toFixed(2)}),
        ]),
      );
      holder.dataset.z = JSON.stringify(Array.from(figures.z));
    },
  };
}
