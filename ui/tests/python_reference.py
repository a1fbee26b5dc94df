"""What the Python runtime computes, for the JavaScript tests to compare the browser runtime with.

    python python_reference.py OPERATION INPUT OUTPUT COUNT [--side S] [--channels C] [--ink INK]
                               [--model-dir M] [--precision P]

INPUT and OUTPUT are raw little-endian arrays, COUNT items one after another:
- ``preprocess``: uint8 drawings S x S x C -> float32 images of the model's size (28 x 28);
- ``encode``: float32 28 x 28 images -> float32 mu then logvar, each COUNT x D;
- ``decode``: float32 latent vectors of D -> float32 28 x 28 images;
- ``elbo``: float32 28 x 28 images, then one float32 latent vector of D per image -> float64
  ``VAERuntime.elbo`` figures at those z, four per image: recon_bce, kl, neg_elbo, log_pz;
- ``map``: float32 latent vectors of D -> their latent-map coordinates, COUNT x 2, then the map's
  points, N x D;
- ``page``: a JSON list of page function calls ``[name, argument]`` -> the JSON list of what the demo
  server's page functions (``DemoHandlers.page_<name>``) answer (``state``: what a fresh page shows);
- ``recipe``: (no input) the constants of the drawing recipe and of the prior's and the map's checks, as JSON;
- ``contract``: (no input) the ONNX contract and the manifest's free-form records, as JSON.
"""

import argparse
import json

import numpy as np

from vaeport import contract
from vaeport.contract import IMAGE_SHAPE
from vaeport.runtime import VAERuntime, elbo, latent_map, manifest, preprocess, preprocess_drawing, prior

CONTRACT_NAMES = (
    "FORMAT_VERSION",
    "IMAGE_SHAPE",
    "BATCH_DIM",
    "DIGITS",
    "ENCODER_INPUT",
    "ENCODER_OUTPUTS",
    "DECODER_INPUT",
    "DECODER_OUTPUT",
    "GRAPH_FILES",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "operation", choices=("preprocess", "encode", "decode", "elbo", "map", "page", "recipe", "contract")
    )
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("count", type=int)
    parser.add_argument("--side", type=int, default=0)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--ink", default="light")
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()

    if args.operation == "recipe":
        constants = {
            "DIGIT_BOX": preprocess.DIGIT_BOX,
            "INK_THRESHOLD": preprocess.INK_THRESHOLD,
            "FAINT": preprocess.FAINT,
            "CENTRE_GRID": preprocess.CENTRE_GRID,
            "LUMA": preprocess.LUMA.tolist(),
            "WEIGHT_SUM_TOLERANCE": prior.WEIGHT_SUM_TOLERANCE,
            "MAP_LEVELS": latent_map.LEVELS,
            "MAP_ORTHONORMAL_TOLERANCE": latent_map.ORTHONORMAL_TOLERANCE,
            "ELBO_LOG_FLOOR": elbo.LOG_FLOOR,
        }
        with open(args.output, "w") as out:
            json.dump(constants, out)
        return
    if args.operation == "contract":
        constants = {name: getattr(contract, name) for name in CONTRACT_NAMES} | {"RECORDS": manifest.RECORDS}
        with open(args.output, "w") as out:
            json.dump(constants, out)
        return
    if args.operation == "page":
        from vaeport.ui.handlers import DemoHandlers

        handlers = DemoHandlers(VAERuntime.load(args.model_dir, device="cpu", precision=args.precision, threads=1))
        with open(args.input) as calls, open(args.output, "w") as out:
            answers = [
                handlers.page_state() if name == "state" else getattr(handlers, f"page_{name}")(argument)
                for name, argument in json.load(calls)
            ]
            json.dump(answers, out)
        return
    if args.operation == "preprocess":
        shape = (args.count, args.side, args.side) + ((args.channels,) if args.channels > 1 else ())
        drawings = np.fromfile(args.input, dtype=np.uint8).reshape(shape)
        result = np.stack([preprocess_drawing(drawing, ink=args.ink) for drawing in drawings])
    else:
        vae = VAERuntime.load(args.model_dir, device="cpu", precision=args.precision, threads=1)
        if args.operation == "encode":
            images = np.fromfile(args.input, dtype=np.float32).reshape(args.count, *IMAGE_SHAPE[1:])
            result = np.concatenate(vae.encode(images))
        elif args.operation == "elbo":
            data = np.fromfile(args.input, dtype=np.float32)
            pixels = args.count * int(np.prod(IMAGE_SHAPE))
            images = data[:pixels].reshape(args.count, *IMAGE_SHAPE[1:])
            figures = vae.elbo(images, z=data[pixels:].reshape(args.count, vae.latent_dim))
            result = np.stack([figures[key] for key in ("recon_bce", "kl", "neg_elbo", "log_pz")], axis=1)
            np.ascontiguousarray(result, dtype="<f8").tofile(args.output)
            return
        elif args.operation == "map":
            z = np.fromfile(args.input, dtype=np.float32).reshape(args.count, vae.latent_dim)
            result = np.concatenate([vae.latent_map.project(z).ravel(), vae.latent_map.points.ravel()])
        else:
            z = np.fromfile(args.input, dtype=np.float32).reshape(args.count, vae.latent_dim)
            result = vae.decode(z)
    np.ascontiguousarray(result, dtype="<f4").tofile(args.output)


if __name__ == "__main__":
    main()
