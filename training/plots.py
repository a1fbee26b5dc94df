"""PNG figures written beside a checkpoint: the loss curve and grids of digits."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_loss_curve(history: list[dict], path: Path) -> None:
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(epochs, [row["train_neg_elbo"] for row in history], label="train")
    left.plot(epochs, [row["test_neg_elbo"] for row in history], label="test")
    left.set(xlabel="epoch", ylabel="negative ELBO (nats / image)", title="Negative ELBO")
    left.legend()
    left.grid(alpha=0.3)
    right.plot(epochs, [row["test_recon_bce"] for row in history], label="reconstruction BCE")
    right.plot(epochs, [row["test_kl"] for row in history], label="KL")
    right.set(xlabel="epoch", ylabel="nats / image", title="Test set terms")
    right.legend()
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_digit_grid(images: np.ndarray, path: Path, title: str, columns: int = 10) -> None:
    """``images [N, H, W]`` in [0, 1] as a grid, white on black like MNIST."""
    rows = -(-len(images) // columns)
    height, width = images.shape[1:]
    grid = np.zeros((rows * height, columns * width), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * height : (r + 1) * height, c * width : (c + 1) * width] = image
    fig = plt.figure(figsize=(columns * 0.6, rows * 0.6 + 0.4))
    plt.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    plt.title(title, fontsize=9)
    plt.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_runs(runs: list[tuple[str, list[dict], float]], path: Path) -> None:
    """Test negative ELBO against training minutes for several runs ``(label, history, duration_s)``.

    Minutes are spread evenly over a run's epochs, which take about the same time each.
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    best = min(row["test_neg_elbo"] for _, history, _ in runs for row in history)
    for label, history, duration_s in runs:
        minutes = [row["epoch"] * duration_s / 60 / len(history) for row in history]
        final = history[-1]["test_neg_elbo"]
        ax.plot(minutes, [row["test_neg_elbo"] for row in history], label=f"{label}: {final:.2f}")
    ax.set(
        xlabel="training minutes",
        ylabel="test negative ELBO (nats / image)",
        title="Test negative ELBO (PyTorch's measure, EMA weights)",
        ylim=(best - 0.5, best + 5),
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """``python -m vaeport.training.plots RUN ... --out PNG``: :func:`plot_runs` of run folders."""
    import argparse

    from vaeport.training.checkpoint import load_checkpoint

    parser = argparse.ArgumentParser(
        prog="python -m vaeport.training.plots",
        description="Plot the test negative ELBO against training minutes of run folders written by `vaeport train`.",
    )
    parser.add_argument("runs", nargs="+", help="run folders holding checkpoint.pt, each as FOLDER or FOLDER=LABEL")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    args = parser.parse_args(argv)
    runs = []
    for run in args.runs:
        folder, _, label = run.partition("=")
        _, state = load_checkpoint(Path(folder) / "checkpoint.pt")
        runs.append((label or Path(folder).name, state["history"], state["duration_s"]))
    plot_runs(runs, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
