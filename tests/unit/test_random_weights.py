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
