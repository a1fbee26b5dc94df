"""What ``VAERuntime.info()`` and ``vaeport info`` report: onnxruntime, the device, the model."""

import onnxruntime as ort

from vaeport.runtime.prior import Prior
from vaeport.runtime.providers import conflict_note, installed_onnxruntime


def environment() -> dict:
    """The installed onnxruntime distributions, the module's version and the providers it offers."""
    return {
        "packages": installed_onnxruntime(),
        "version": ort.__version__,
        "available_providers": ort.get_available_providers(),
        "conflict": conflict_note(),
    }


def model_summary(manifest: dict, prior: Prior) -> dict:
    """The parts of a manifest people ask about first; the whole manifest is ``VAERuntime.manifest``."""
    keys = (
        "format_version",
        "latent_dim",
        "image_shape",
        "dataset",
        "metrics",
        "evaluation",
        "training",
        "quantization",
        "versions",
    )
    summary = {key: manifest[key] for key in keys if key in manifest}
    summary["prior"] = {"description": prior.description, "components": prior.components}
    summary["graphs"] = {
        precision: {
            role: {"file": entry.get("file"), "sha256": entry.get("sha256"), "bytes": entry.get("bytes")}
            for role, entry in roles.items()
        }
        for precision, roles in manifest.get("graphs", {}).items()
    }
    return summary


def _cell(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _metrics_table(metrics: dict) -> list[str]:
    """One row per precision, one column per metric the manifest records."""
    columns = list(next(iter(metrics.values())))
    rows = [["precision", *columns]]
    rows += [
        [precision, *(_cell(values.get(column, "")) for column in columns)] for precision, values in metrics.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns) + 1)]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def format_info(info: dict) -> str:
    """``VAERuntime.info()`` as the text ``vaeport info`` prints."""
    env, model = info["onnxruntime"], info["model"]
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items()) or "none found"
    lines = [
        "onnxruntime",
        f"  installed packages:  {packages}",
        f"  module version:      {env['version']}",
        f"  available providers: {', '.join(env['available_providers'])}",
    ]
    if env["conflict"]:
        lines.append(f"  warning: {env['conflict']}")
    lines += [
        "session",
        f"  model folder:        {info['model_dir']}",
        f"  precision:           {info['precision']}",
        f"  device:              {info['device']} (asked for {info['device_requested']})",
        f"  active providers:    {', '.join(info['providers'])}",
    ]
    if info["fallback_reason"]:
        lines.append(f"  not on CUDA because: {info['fallback_reason']}")
    dataset = model.get("dataset", {})
    lines += [
        "model",
        f"  format version:      {model.get('format_version')}",
        f"  latent size:         {model.get('latent_dim')}",
        f"  dataset:             {dataset.get('name', '?')}, {dataset.get('convention', '')}",
        f"  prior:               {model['prior']['description']}"
        + (f" ({model['prior']['components']} components)" if model["prior"]["components"] > 1 else ""),
    ]
    if "training" in model:
        lines.append("  training:            " + ", ".join(f"{k}={_cell(v)}" for k, v in model["training"].items()))
    if "quantization" in model:
        quantization = model["quantization"]
        lines.append(f"  int8 graphs:         {quantization.get('weights', '?')}; {quantization.get('format', '?')}")
    if "versions" in model:
        lines.append("  exported with:       " + ", ".join(f"{k} {v}" for k, v in model["versions"].items()))
    for precision, roles in model["graphs"].items():
        for entry in roles.values():
            lines.append(f"  {precision:<5} {entry['file']!s:<18} {entry['bytes']} bytes  sha256 {entry['sha256']}")
    if model.get("metrics"):
        test_images = model.get("evaluation", {}).get("test_images", "?")
        lines.append(f"metrics (MNIST test set, {test_images} images, nats per image; lower neg_elbo is better)")
        lines += _metrics_table(model["metrics"])
    return "\n".join(lines)
