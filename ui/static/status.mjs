// The line under the digit: the engine that runs the model and its last decode time, then in brackets
// why the page is not running where it would (a note), then what went wrong with the last action,
// until one succeeds.

import {element} from './dom.mjs';

export function createStatus() {
  const line = element('p', {class: 'status', 'aria-live': 'polite'});
  return {
    element: line,

    /** ``engine`` (or null), ``ms`` (the last decode's time when that engine made it, else null), ``note``, ``error``. */
    show({engine, ms, note, error}) {
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
