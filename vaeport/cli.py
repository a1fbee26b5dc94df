"""The ``vaeport`` command.

Every subcommand's arguments are declared here so that ``vaeport --help`` works with only
the base install; each handler imports its layer when it runs.
"""

import argparse
import sys
from pathlib import Path

from vaeport import __version__
from vaeport.errors import VaeportError


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text}")
    return value


def _hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"expected positive layer widths separated by commas, such as 512,256; got {text!r}"
        )
    return sizes


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
    p.add_argument("--out", type=Path, default=Path("runs/latest"), help=f"run folder for the checkpoint and plots {from_defaults}")
    p.add_argument("--epochs", type=_positive_int, default=None, help="passes over the training set")
    p.add_argument("--batch-size", type=_positive_int, default=None)
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--latent-dim", type=_positive_int, default=None, help="size of z (one demo slider each)")
    p.add_argument("--hidden", type=_hidden_sizes, default=None, help="encoder widths, such as 512,256; the decoder mirrors them")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--threads", type=_positive_int, default=None, help="PyTorch CPU threads (default: all cores)")
    p.add_argument("--train-limit", type=_positive_int, default=None, help="use only the first N training digits")
    p.add_argument("--test-limit", type=_positive_int, default=None, help="evaluate on only the first N test digits")
    p.set_defaults(handler=_run_train)


def _run_train(args) -> None:
    from vaeport.training.config import TrainConfig
    from vaeport.training.train import train

    overrides = {
        name: getattr(args, name)
        for name in ("epochs", "batch_size", "lr", "latent_dim", "hidden", "seed", "threads", "train_limit", "test_limit")
        if getattr(args, name) is not None
    }
    config = TrainConfig(**overrides)
    train(config, out_dir=args.out, data_root=args.data_root, download=not args.no_download)


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX graphs, int8 variants and a manifest")
    p.add_argument("checkpoint", type=Path, help="checkpoint.pt written by `vaeport train`")
    p.add_argument("--out", type=Path, default=Path("exported"), help="model folder to (re)place (default: %(default)s)")
    _add_data_arguments(p)
    p.add_argument("--test-limit", type=_positive_int, default=None, help="measure the metrics on only the first N test digits")
    p.set_defaults(handler=_run_export)


def _run_export(args) -> None:
    from vaeport.training.export import export

    export(args.checkpoint, args.out, data_root=args.data_root, download=not args.no_download, test_limit=args.test_limit)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="recompute a model folder's test metrics from its ONNX graphs")
    p.add_argument("model_dir", type=Path, help="folder with encoder.onnx, decoder.onnx and manifest.json")
    _add_data_arguments(p)
    p.add_argument("--test-limit", type=_positive_int, default=None, help="use only the first N test digits")
    p.set_defaults(handler=_run_evaluate)


def _run_evaluate(args) -> None:
    from vaeport.training.evaluate import evaluate_model_dir

    evaluate_model_dir(args.model_dir, data_root=args.data_root, download=not args.no_download, test_limit=args.test_limit)


# --- the command ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaeport",
        description="A variational autoencoder for handwritten digits, shipped as ONNX graphs.",
    )
    parser.add_argument("--version", action="version", version=f"vaeport {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (_add_train, _add_export, _add_evaluate):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except VaeportError as error:
        print(f"vaeport {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"vaeport {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
