"""The exception the demo raises for input that reaches it from the page or its API."""

from vaeport.errors import VaeportError


class DemoInputError(VaeportError, ValueError):
    """A value from the page or an API client that does not have the expected form or range."""


class DemoServerError(VaeportError, RuntimeError):
    """The demo server cannot start, such as when its port is taken."""


class OrtWebError(VaeportError, ValueError):
    """A local copy of onnxruntime-web (``--ort-web``) that is missing or not the pinned version."""


class SiteError(VaeportError, RuntimeError):
    """The static site cannot be written where it was asked for."""
