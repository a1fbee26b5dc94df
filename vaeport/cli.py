"""The ``vaeport`` command.

Every subcommand's arguments are declared here so that ``vaeport --help`` works with only
the base install; each handler imports its layer when it runs.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

from vaeport import __version__
from vaeport.choices import ACTIVATIONS, ARCHITECTURES, PRIORS
from vaeport.contract import PRECISIONS
from vaeport.errors import VaeportError


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text}")
    return value


def _positive_ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(_positive_int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected positive whole numbers separated by commas, such as 1,64,1024; got {text!r}"
        ) from None


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder that holds MNIST/raw/ (default: $VAEPORT_DATA_ROOT, else a per-user cache folder)",
    )
    parser.add_argument(
        "--no-download", action="store_true", help="never download MNIST; fail if the files are missing"
    )


# --- training layer ---------------------------------------------------------------------


def _add_train(sub) -> None:
    from_defaults = "(default: %(default)s)"
    p = sub.add_parser("train", help="train the VAE on MNIST with PyTorch")
    _add_data_arguments(p)
    p.add_argument(
        "--out", type=Path, default=Path("runs/latest"), help=f"run folder for the checkpoint and plots {from_defaults}"
    )
    p.add_argument("--epochs", type=_positive_int, default=None, help="passes over the training set")
    p.add_argument("--batch-size", type=_positive_int, default=None)
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--latent-dim", type=_positive_int, default=None, help="size of z (one demo slider each)")
    p.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        default=None,
        help="convolutions then dense layers (conv), or dense layers only (mlp)",
    )
    p.add_argument(
        "--channels",
        type=_positive_ints,
        default=None,
        help="channels of the conv architecture's stride-2 convolutions, one or two, such as 32,64",
    )
    p.add_argument(
        "--hidden",
        type=_positive_ints,
        default=None,
        help="widths of the encoder's dense layers, such as 512 (conv) or 512,256 (mlp); the decoder mirrors them",
    )
    p.add_argument("--activation", choices=tuple(ACTIVATIONS), default=None)
    p.add_argument("--weight-decay", type=float, default=None, help="decoupled weight decay (AdamW)")
    p.add_argument("--dropout", type=float, default=None, help="dropout after each hidden layer while training")
    p.add_argument(
        "--kl-warmup-epochs", type=float, default=None, help="epochs over which the KL weight rises from 0 to 1"
    )
    p.add_argument(
        "--ema-decay", type=float, default=None, help="decay of the weight average that is saved (0 turns it off)"
    )
    p.add_argument(
        "--prior",
        choices=PRIORS,
        default=None,
        help="the prior p(z): standard normal N(0, I), a mixture of learned Gaussians (mog), or a VampPrior over learned pseudo-inputs (vamp)",
    )
    p.add_argument(
        "--prior-components",
        type=_positive_int,
        default=None,
        help="Gaussians of the mixture, or pseudo-inputs of the VampPrior",
    )
    p.add_argument(
        "--prior-weight-decay", type=float, default=None, help="decoupled weight decay of the prior's parameters"
    )
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="PyTorch CPU threads (default: 2, the recipe's; use 1 when other work shares the cores, since every thread waits for one that lost its core)",
    )
    p.add_argument("--train-limit", type=_positive_int, default=None, help="use only the first N training digits")
    p.add_argument("--test-limit", type=_positive_int, default=None, help="evaluate on only the first N test digits")
    p.set_defaults(handler=_run_train)


def train_config(args):
    """The TrainConfig that `vaeport train` runs: the defaults with the options given (one option per field)."""
    from vaeport.training.config import TrainConfig
    from vaeport.training.errors import ConfigError

    if args.architecture == "mlp" and args.channels is not None:
        raise ConfigError("--channels sets the convolutions of the conv architecture; --architecture mlp has none")
    given = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{name: value for name, value in given.items() if value is not None})


def _run_train(args) -> None:
    from vaeport.training import use_short_openmp_spin

    use_short_openmp_spin()
    from vaeport.training.train import train

    train(train_config(args), out_dir=args.out, data_root=args.data_root, download=not args.no_download)


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX graphs, int8 variants and a manifest")
    p.add_argument("checkpoint", type=Path, help="checkpoint.pt written by `vaeport train`")
    p.add_argument(
        "--out", type=Path, default=Path("exported"), help="model folder to (re)place (default: %(default)s)"
    )
    _add_data_arguments(p)
    p.add_argument(
        "--test-limit", type=_positive_int, default=None, help="measure the metrics on only the first N test digits"
    )
    p.set_defaults(handler=_run_export)


def _run_export(args) -> None:
    from vaeport.training import use_short_openmp_spin

    use_short_openmp_spin()
    from vaeport.training.export import export

    export(
        args.checkpoint, args.out, data_root=args.data_root, download=not args.no_download, test_limit=args.test_limit
    )


def _add_derive(sub) -> None:
    p = sub.add_parser(
        "derive",
        help="write again what a model folder derives from its fp32 graphs: int8 graphs, metrics, examples, map",
    )
    p.add_argument("model_dir", type=Path, help="folder with the fp32 graphs and manifest.json (no checkpoint needed)")
    _add_data_arguments(p)
    p.set_defaults(handler=_run_derive)


def _run_derive(args) -> None:
    from vaeport.training.export import derive

    derive(args.model_dir, data_root=args.data_root, download=not args.no_download)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="recompute a model folder's test metrics from its ONNX graphs")
    p.add_argument("model_dir", type=Path, help="folder with encoder.onnx, decoder.onnx and manifest.json")
    _add_data_arguments(p)
    p.add_argument("--test-limit", type=_positive_int, default=None, help="use only the first N test digits")
    p.set_defaults(handler=_run_evaluate)


def _run_evaluate(args) -> None:
    from vaeport.training.evaluate import evaluate_model_dir

    evaluate_model_dir(
        args.model_dir, data_root=args.data_root, download=not args.no_download, test_limit=args.test_limit
    )


# --- runtime layer ----------------------------------------------------------------------


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="show onnxruntime, its providers, and the model's manifest and metrics")
    p.add_argument("--model-dir", type=Path, default=None, help="model folder (default: the shipped model)")
    p.add_argument("--device", default="auto", help='"auto", "cpu", "cuda" or "cuda:N" (default: %(default)s)')
    p.add_argument(
        "--precision", choices=PRECISIONS, default=PRECISIONS[0], help="graphs to load (default: %(default)s)"
    )
    p.set_defaults(handler=_run_info)


def _run_info(args) -> None:
    from vaeport.runtime import VAERuntime
    from vaeport.runtime.info import format_info

    vae = VAERuntime.load(args.model_dir, device=args.device, precision=args.precision)
    print(format_info(vae.info()))


# --- benchmarks layer -------------------------------------------------------------------


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _add_bench(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="measure inference speed: PyTorch, onnxruntime and the vaeport runtime on the same weights",
        description="Time the encoder, the decoder and the round trip on every engine, batch size and thread count, "
        "interleaved in rounds; write results.json, results.md and plots (latency, throughput, speed-up).",
    )
    p.add_argument("--model-dir", type=Path, default=None, help="model folder (default: the shipped model)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="folder for the results (default: %(default)s)")
    p.add_argument(
        "--engine",
        type=_names,
        default=None,
        help="comma-separated engines, such as torch-eager,ort-cpu-fp32,vaeport-int8 (default: all that can run here)",
    )
    p.add_argument(
        "--part", type=_names, default=None, help="comma-separated parts: encoder, decoder, roundtrip (default: all)"
    )
    p.add_argument(
        "--batch", type=_positive_ints, default=None, help="comma-separated batch sizes (default: 1,8,64,512,4096)"
    )
    p.add_argument(
        "--threads", type=_positive_ints, default=None, help="comma-separated thread counts (default: 1 and all cores)"
    )
    p.add_argument("--seconds", type=float, default=None, help="timed seconds per cell (default: 1.0)")
    p.add_argument("--quick", action="store_true", help="smoke run: batches 1 and 64, all cores, a few seconds in all")
    p.add_argument(
        "--profile",
        action="store_true",
        help="instead of timing, profile one cell with onnxruntime's profiler and print each operator type's and "
        "each node's share of the time; give exactly one --engine (an ort-* engine), --part, --batch and --threads",
    )
    p.set_defaults(handler=_run_bench)


def _run_bench(args) -> None:
    if args.profile:
        from vaeport.benchmarks.profile import profile_cell, profile_request

        engine, part, batch, threads = profile_request(args.engine, args.part, args.batch, args.threads)
        profile_cell(args.out, args.model_dir, engine, part, batch, threads, seconds=args.seconds or 1.0)
        print((args.out / "profile.md").read_text())
        print(f"profile written to {args.out}/profile.json and profile.md")
        return
    from vaeport.benchmarks.run import run_benchmark

    run_benchmark(
        args.out,
        model_dir=args.model_dir,
        engines=args.engine,
        parts=args.part,
        batches=args.batch,
        threads=args.threads,
        seconds_per_cell=args.seconds,
        quick=args.quick,
    )
    print((args.out / "results.md").read_text())
    print(f"results, report and plots written to {args.out}/")


# --- ui layer ---------------------------------------------------------------------------


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port from 1 to 65535, got {text}")
    return value


def _add_model_arguments(parser: argparse.ArgumentParser, precision: str = PRECISIONS[0], what: str = "to run") -> None:
    parser.add_argument(
        "--precision", choices=PRECISIONS, default=precision, help=f"graphs {what} (default: %(default)s)"
    )
    parser.add_argument("--model-dir", type=Path, default=None, help="model folder (default: the shipped model)")
    parser.add_argument(
        "--ort-web",
        type=Path,
        default=None,
        metavar="DIR",
        help="serve onnxruntime-web from DIR, the dist/ folder of the pinned npm package, instead of a public CDN "
        "(for machines without internet)",
    )


def _add_demo(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="serve the Gradio demo: latent sliders, a drawing pad and example tiles",
        description="Serve the demo page and its API endpoints /decode, /encode and /sample (see `Use via API` at the "
        "foot of the page). The page runs the model in the visitor's browser on onnxruntime-web, with this server "
        'as the fallback. Needs the ui extra: pip install "vaeport[ui]".',
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for every interface (default: %(default)s)"
    )
    p.add_argument("--port", type=_port, default=7860, help="port to listen on (default: %(default)s)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off unless asked)")
    p.add_argument(
        "--device",
        default="auto",
        help='"auto", "cpu", "cuda" or "cuda:N" for the server\'s runtime (default: %(default)s)',
    )
    _add_model_arguments(p, what="the server runs")
    p.add_argument(
        "--browser-precision",
        choices=PRECISIONS,
        default="int8",
        help="graphs the visitor's browser downloads and runs (default: %(default)s: a third of fp32's bytes, "
        "0.04 nats worse, the same numbers on every CPU)",
    )
    p.add_argument("--server-only", action="store_true", help="run the model on this server only, never in the browser")
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="onnxruntime threads per call (default: %(default)s; one digit per call runs fastest on one thread, "
        "and an idle thread pool would spin on the cores the other visitors need)",
    )
    p.set_defaults(handler=_run_demo)


def _run_demo(args) -> None:
    from vaeport.runtime import VAERuntime
    from vaeport.ui.app import serve
    from vaeport.ui.assets import check_ort_dist

    ort_dist = check_ort_dist(args.ort_web) if args.ort_web else None
    vae = VAERuntime.load(args.model_dir, device=args.device, precision=args.precision, threads=args.threads)
    serve(
        vae,
        host=args.host,
        port=args.port,
        share=args.share,
        browser=not args.server_only,
        ort_dist=ort_dist,
        browser_precision=args.browser_precision,
    )


def _add_web(sub) -> None:
    p = sub.add_parser(
        "web",
        help="write the demo as a static site that runs entirely in the browser",
        description="Write a self-contained static site into OUT: one HTML page, its JavaScript, the graphs and the "
        "manifest. It runs the whole demo in the browser, with no Python server, from any static host "
        "(GitHub Pages, python -m http.server). OUT is replaced only once the site is complete.",
    )
    p.add_argument("out", type=Path, help="folder to (re)place with the site")
    _add_model_arguments(p, "int8", "the browser downloads and runs")
    p.add_argument(
        "--no-compress",
        action="store_true",
        help="write no precompressed .gz and .br copies (by default the larger files get both, for hosts that serve them)",
    )
    p.set_defaults(handler=_run_web)


def _run_web(args) -> None:
    from vaeport.runtime import VAERuntime
    from vaeport.ui.assets import check_ort_dist
    from vaeport.ui.web import write_site

    ort_dist = check_ort_dist(args.ort_web) if args.ort_web else None
    vae = VAERuntime.load(args.model_dir, device="cpu", precision=args.precision, threads=1)
    if not args.no_compress:
        print(
            "writing the site with gzip and brotli copies of its larger files (brotli at its strongest takes a while)"
        )
    sizes = write_site(args.out, vae, ort_dist, compress=not args.no_compress)
    where = "onnxruntime-web copied in, no request leaves its origin" if ort_dist else "onnxruntime-web from the CDN"
    print(f"wrote the demo as a static site to {args.out}/ ({where}); try it: python -m http.server -d {args.out}")
    for name, (raw, gz, br) in sizes.items():
        copies = ", ".join(f"{encoding} {size:,}" for encoding, size in (("gzip", gz), ("brotli", br)) if size)
        print(f"  {name}: {raw:,} bytes; {copies or 'no copy smaller'}")


# --- the command ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaeport",
        description="A variational autoencoder for handwritten digits, shipped as ONNX graphs.",
    )
    parser.add_argument("--version", action="version", version=f"vaeport {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (_add_train, _add_export, _add_derive, _add_evaluate, _add_info, _add_bench, _add_demo, _add_web):
        add(sub)
    return parser


# The extra that installs the libraries each command imports when it runs.
COMMAND_EXTRAS = {
    "train": "train",
    "export": "train",
    "derive": "train",
    "evaluate": "cpu",
    "bench": "bench",
    "demo": "ui",
    "web": "ui",
    "info": "cpu",
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except VaeportError as error:
        print(f"vaeport {args.command}: error: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        library = (error.name or "").split(".")[0]
        if not library or library == "vaeport":
            raise
        extra = COMMAND_EXTRAS[args.command]
        print(
            f"vaeport {args.command}: error: this command needs {library}, which is not installed: "
            f'pip install "vaeport[{extra}]"',
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(f"vaeport {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
