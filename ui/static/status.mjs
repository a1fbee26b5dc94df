// The line under the digit: the engine that runs the model and its last decode time, then in brackets
// why the page is not running where it would (a note), then what went wrong with the last action,
// until one succeeds. While the browser engine downloads, a thin bar under the line shows how far it got.

import {element} from './dom.mjs';

export function createStatus() {
  const line = element('p', {class: 'status', 'aria-live': 'polite'});
  const bar = element('progress', {class: 'download', 'aria-label': 'the model\'s download'});
  bar.hidden = true;
  return {
    element: element('div', {class: 'status-box'}, [line, bar]),

    /** ``engine`` (or null), ``ms`` (the last decode's time when that engine made it, else null), ``note``,
     * ``error``, and ``progress``: the downloads' ``{received, total}`` bytes, or null when none runs. */
    show({engine, ms, note, error, progress = null}) {
      bar.hidden = !progress;
      if (progress) Object.assign(bar, {max: progress.total, value: progress.received});
      const parts = [];
      if (engine) parts.push(engine.label);
      if (engine && ms !== null) parts.push(`last decode ${ms.toFixed(2)} ms`);
      let text = parts.join(' · ');
      if (note) text = text ? `${text} (${note})` : note;
      if (error) text = `${text} — ${error}`;
      line.textContent = text;
    },
  };
}
