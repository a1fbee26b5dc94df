"""``python -m vaeport.benchmarks.browser``: runs the browser benchmark's command line."""

from vaeport.benchmarks.browser.cli import main

main()
