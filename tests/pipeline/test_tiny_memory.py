"""The tiny preset's memory acts: its synthetic released checkpoint gives the CAM and the APM non-zero
outputs, so the frames and the anchor that reach the model change the chunk, and each wiring mistake
(wrong latent frames to the CAM, a skipped mid-block injector, the anchor in the unconditional branch,
APM tokens that never reach the sampler) fails a test here."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def pipe(tiny_preset):
    from studio.generate.sampler import StreamingPipeline

    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16)
    return StreamingPipeline(dataclasses.replace(tiny_preset, streaming=streaming))


def frames(seed: int, count: int, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def chunks(pipe):
    """One-step chunks from one seed: no memory, two contexts, and one context with two anchors."""
    def chunk(context, anchor):
        return pipe.make_chunk("a fox runs", context, anchor, 3, steps=1).astype(np.int16)  # (8, H, W, 3)

    context_a, context_b = frames(1, 8), frames(2, 8)
    anchor_a, anchor_b = frames(3, 1)[0], frames(4, 1)[0]
    return {"plain": chunk(None, None), "context a": chunk(context_a, None), "context b": chunk(context_b, None),
            "anchor a": chunk(context_a, anchor_a), "anchor b": chunk(context_a, anchor_b)}


def differ(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.abs(first - second).mean())


def test_the_synthetic_release_is_loaded_through_the_real_mapping(pipe):
    model = pipe.model
    assert model.cam.injector_mid.proj_out.weight.abs().sum() > 0
    assert all(inject.proj_out.weight.abs().sum() > 0 for inject in model.cam.injectors_down)
    assert model.cam.encoder.controlnet_cond_embedding.conv_out.weight.abs().sum() > 0
    assert all(float(mixing.alpha) != 0 for mixing in model.mixing)


def test_the_context_frames_change_the_chunk(chunks):
    assert differ(chunks["context a"], chunks["context b"]) > 0  # another context: another chunk (was identical with zero-init weights)
    assert differ(chunks["plain"][-8:], chunks["context a"]) > 0


def test_the_anchor_reaches_the_sampler_and_changes_the_chunk(chunks):
    assert differ(chunks["anchor a"], chunks["context a"]) > 0  # with an anchor vs without
    assert differ(chunks["anchor a"], chunks["anchor b"]) > 0  # another anchor: another chunk


def test_the_unconditional_apm_branch_sees_grey_whatever_the_anchor(pipe):
    tokens_a, tokens_b = pipe.apm_tokens(frames(3, 1)[0]), pipe.apm_tokens(frames(4, 1)[0])  # (2, k, D) each
    grey = pipe.apm_tokens(np.full((16, 16, 3), 127.5, dtype=np.float32).round().astype(np.uint8))
    assert torch.equal(tokens_a[0], tokens_b[0])  # unconditional: independent of the anchor
    assert torch.allclose(tokens_a[0], grey[1], atol=1e-2)  # ... and it is the grey image's tokens
    assert not torch.allclose(tokens_a[1], tokens_b[1], atol=1e-3)


def model_inputs(pipe):
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn((1, 4, 16, 4, 4), generator=generator)  # (B, C, F, h, w): 16x16 frames, VAE / 4
    text = pipe.encode_text(["a fox"])  # (1, T, D)
    cond = torch.rand((1, 8, 3, 16, 16), generator=generator) * 2 - 1  # (B, Fc, 3, H, W)
    return sample, torch.tensor(500), text, cond


def test_the_cam_reads_the_first_context_frames_of_the_noisy_latent(pipe):
    sample, timestep, text, cond = model_inputs(pipe)
    seen = []
    handle = pipe.model.cam.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    try:
        with torch.no_grad():
            pipe.model(sample, timestep, text, cond_frames=cond)
    finally:
        handle.remove()
    assert len(seen) == 1 and torch.equal(seen[0], sample[:, :, :8])


def test_the_mid_block_injector_acts(pipe):
    sample, timestep, text, cond = model_inputs(pipe)
    proj_out = pipe.model.cam.injector_mid.proj_out
    with torch.no_grad():
        full = pipe.model(sample, timestep, text, cond_frames=cond)
        saved = proj_out.weight.clone(), proj_out.bias.clone()
        try:
            proj_out.weight.zero_()
            proj_out.bias.zero_()
            without_mid = pipe.model(sample, timestep, text, cond_frames=cond)
        finally:
            proj_out.weight.copy_(saved[0])
            proj_out.bias.copy_(saved[1])
    assert (full - without_mid).abs().mean() > 1e-4
