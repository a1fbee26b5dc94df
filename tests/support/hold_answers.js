// A page script for the browser tests, added before the page loads (a Playwright init script):
// after holdServerAnswers(route), the page's requests to URLs that contain ``route`` go out at
// once, but their answers are held until window.vaeportHeld.release(); from then on they pass
// straight through. window.vaeportHeld.counts says how many answers were held and how many of
// those were handed to the page.

function holdServerAnswers(route) {
  const fetchNow = window.fetch.bind(window);
  const waiting = [];
  const counts = {held: 0, delivered: 0};
  let holding = true;
  window.vaeportHeld = {
    counts,
    release() {
      holding = false;
      for (const deliver of waiting.splice(0)) deliver();
    },
  };
  const hold = (response) =>
    new Promise((resolve) => {
      counts.held += 1;
      waiting.push(() => {
        counts.delivered += 1;
        resolve(response);
      });
    });
  window.fetch = (resource, ...rest) => {
    const answer = fetchNow(resource, ...rest);
    if (!String(resource.url ?? resource).includes(route)) return answer;
    return answer.then((response) => (holding ? hold(response) : response));
  };
}
