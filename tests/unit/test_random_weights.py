"""The benchmark's random architectures: every parameter initialised, the same for the same seed."""

import torch

from studio.models import random_weights


def test_every_parameter_is_initialised_and_reproducible():
    cpu = torch.device("cpu")
    first = random_weights.materialise(random_weights.image_encoder("small"), cpu, torch.float32)
    second = random_weights.materialise(random_weights.image_encoder("small"), cpu, torch.float32)
    names = [name for name, _ in first.named_parameters()]
    assert "vision_model.embeddings.class_embedding" in names  # the one no layer resets itself
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        assert torch.isfinite(a).all(), name
        assert torch.equal(a, b), name  # uninitialised memory would differ between two builds


def test_the_full_unet_has_the_parameter_count_the_readme_gives_for_the_first_chunk_unet():
    from pathlib import Path

    count = sum(p.numel() for p in random_weights.unet3d("full").parameters())  # on the meta device: no memory
    assert count == 1_411_233_860  # ModelScope's UNet3D (~1.41 B, SPEC)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"{count:,} parameters" in readme and f"+{count * 2 / 1e9:.1f} GB" in readme  # 2 bytes each in bf16/fp16
