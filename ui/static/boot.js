// What the Gradio page runs when the demo's HTML component mounts (gr.HTML's js_on_load, in ui/app.py):
// the body of a function that Gradio calls with ``element`` (the component's element), ``props``
// (``props.value`` is the page's configuration, ui/page.py's page_config) and ``server`` (the page's
// server functions). It imports the page's module from the assets folder and starts the demo there.
// Gradio runs it through Function(), where a static import fails; import() works.

(async () => {
  const config = props.value;
  const {start} = await import(new URL(config.assets + config.page, document.baseURI).href);
  start(element, config, server);
})().catch((error) => {
  element.textContent = `The demo could not start: ${error.message}`;
});
