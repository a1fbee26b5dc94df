"""The training loop: AdamW, cosine decay stepped every batch, an EMA of the weights, test metrics every epoch."""

import copy
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from vaeport.contract import IMAGE_SHAPE
from vaeport.training.checkpoint import save_checkpoint
from vaeport.training.config import TrainConfig
from vaeport.training.data import load_mnist
from vaeport.training.errors import ConfigError
from vaeport.training.loss import negative_elbo
from vaeport.training.model import VAE, sample_prior
from vaeport.training.plots import plot_loss_curve, save_digit_grid
from vaeport.training.quality import quality_metrics

EVAL_BATCH = 1000
GRID_DIGITS = 50
EMA_EVERY = 4  # steps between updates of the weight average, each a pass over every weight


@torch.no_grad()
def evaluate(model: VAE, images: torch.Tensor, seed: int) -> dict:
    """Test metrics with one posterior sample per image, the same noise every call.

    With a learned prior the KL is log q(z|x) - log p(z) at the decoded z, as for the graphs.
    """
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    prior_mixture = model.prior_mixture()
    bce, kl, mu_all = [], [], []
    for batch in images.split(EVAL_BATCH):
        logits, mu, logvar, z = model(batch, generator)
        _, batch_bce, batch_kl = negative_elbo(logits, batch, mu, logvar, z, prior_mixture)
        bce.append(batch_bce)
        kl.append(batch_kl)
        mu_all.append(mu)
    return quality_metrics(torch.cat(bce).numpy(), torch.cat(kl).numpy(), torch.cat(mu_all).numpy())


def _kl_weight(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """KL warm-up: the weight of the KL term rises linearly from 0 to 1, which keeps latent units from collapsing early."""
    warmup_steps = config.kl_warmup_epochs * steps_per_epoch
    return 1.0 if step >= warmup_steps else step / warmup_steps


@torch.no_grad()
def _update_ema(ema: VAE, model: VAE, decay: float, step: int, total_steps: int) -> None:
    """Exponential moving average of the weights, updated every ``EMA_EVERY`` steps and after the last.

    ``decay`` is per step, so an update weighs the live weights as ``EMA_EVERY`` steps would; it
    ramps up so that early averages are not stuck at the initial weights.
    """
    if step % EMA_EVERY != EMA_EVERY - 1 and step != total_steps - 1:
        return
    decay = min(decay, (1 + step) / (10 + step)) ** EMA_EVERY
    for averaged, live in zip(ema.parameters(), model.parameters()):
        averaged.lerp_(live, 1.0 - decay)


def _optimizer(model: VAE, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW over every weight; the prior's parameters, if any, get their own weight decay."""
    prior = [] if model.prior is None else list(model.prior.parameters())
    networks = [p for name, p in model.named_parameters() if not name.startswith("prior.")]
    groups = [{"params": networks, "weight_decay": config.weight_decay}]
    if prior:
        groups.append({"params": prior, "weight_decay": config.prior_weight_decay})
    return torch.optim.AdamW(groups, lr=config.lr, fused=True)


def _prepare_out_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(
            f"the output folder {out_dir} is a file; expected a folder (or a path that does not exist yet)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def train(config: TrainConfig, out_dir: Path, data_root=None, download: bool = True) -> dict:
    """Train, then write checkpoint.pt (with the per-epoch history) and PNG figures into ``out_dir``."""
    out_dir = _prepare_out_dir(out_dir)
    train_images, _ = load_mnist(data_root, train=True, download=download, limit=config.train_limit)
    test_images, _ = load_mnist(data_root, train=False, download=download, limit=config.test_limit)
    if config.batch_size > len(train_images):
        raise ConfigError(f"batch_size {config.batch_size} is larger than the {len(train_images)} training digits")
    if config.prior == "vamp" and config.prior_components > len(train_images):
        raise ConfigError(
            f"prior_components {config.prior_components} is more pseudo-inputs than the {len(train_images)} training digits they start from"
        )

    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(config.seed)
    shuffle = torch.Generator().manual_seed(config.seed)
    noise = torch.Generator().manual_seed(config.seed + 1)

    # channels-last feature maps: PyTorch's CPU convolutions run faster in that layout (docs/experiments.md)
    model = config.build_model().to(memory_format=torch.channels_last)
    if config.prior == "vamp":  # pseudo-inputs start as training digits picked at random
        picks = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(config.seed + 2))
        model.prior.start_from(train_images[picks[: config.prior_components]])
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = _optimizer(model, config)
    steps_per_epoch = math.ceil(len(train_images) / config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps))
    )

    history = []
    started = time.perf_counter()
    progress = tqdm(total=total_steps, desc="training", unit="batch", dynamic_ncols=True)
    for epoch in range(1, config.epochs + 1):
        model.train()
        running, seen = 0.0, 0
        batches = torch.randperm(len(train_images), generator=shuffle).split(config.batch_size)
        for step, index in enumerate(batches, start=(epoch - 1) * steps_per_epoch):
            batch = train_images[index]
            logits, mu, logvar, z = model(batch, noise)
            loss, bce, kl = negative_elbo(logits, batch, mu, logvar, z, model.prior_mixture())
            optimizer.zero_grad(set_to_none=True)
            (bce + _kl_weight(config, step, steps_per_epoch) * kl).mean().backward()
            optimizer.step()
            schedule.step()
            _update_ema(ema, model, config.ema_decay, step, total_steps)
            running += loss.sum().item()
            seen += len(batch)
            progress.update()
            progress.set_postfix(epoch=epoch, loss=f"{running / seen:.2f}", refresh=False)
        metrics = evaluate(ema, test_images, config.seed)
        history.append(
            {"epoch": epoch, "train_neg_elbo": running / seen, **{f"test_{k}": v for k, v in metrics.items()}}
        )
        progress.write(
            f"epoch {epoch:3d}  train {running / seen:7.2f}  test -ELBO {metrics['neg_elbo']:7.2f}"
            f"  BCE {metrics['recon_bce']:6.2f}  KL {metrics['kl']:5.2f}  active units {metrics['active_units']}"
        )
    progress.close()
    duration_s = time.perf_counter() - started

    save_checkpoint(out_dir / "checkpoint.pt", ema, config, history, duration_s)
    _write_figures(ema, test_images, history, out_dir, config)
    print(
        f"wrote {out_dir / 'checkpoint.pt'} and figures in {duration_s / 60:.1f} min; "
        f"test negative ELBO {history[-1]['test_neg_elbo']:.2f} nats/image"
    )
    return {"history": history, "duration_s": duration_s, "checkpoint": out_dir / "checkpoint.pt"}


@torch.no_grad()
def _write_figures(
    model: VAE, test_images: torch.Tensor, history: list[dict], out_dir: Path, config: TrainConfig
) -> None:
    model.eval()
    plot_loss_curve(history, out_dir / "loss_curve.png")
    originals = test_images[:GRID_DIGITS]
    mu, _ = model.encoder(originals)
    reconstructions = torch.sigmoid(model.decoder(mu))
    pairs = torch.stack([originals, reconstructions], dim=1).view(-1, *IMAGE_SHAPE[1:])[: 2 * GRID_DIGITS]
    save_digit_grid(
        pairs.numpy(), out_dir / "reconstructions.png", "test digits (left) and reconstructions from mu (right)"
    )
    z = sample_prior(model, GRID_DIGITS * 2, torch.Generator().manual_seed(config.seed))
    title = (
        "samples from the prior z ~ N(0, I)"
        if model.prior is None
        else f"samples from the learned prior ({config.prior}, {config.prior_components} components)"
    )
    save_digit_grid(torch.sigmoid(model.decoder(z)).view(-1, *IMAGE_SHAPE[1:]).numpy(), out_dir / "samples.png", title)
