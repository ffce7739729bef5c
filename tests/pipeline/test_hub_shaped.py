"""The gpu preset's own loading code, offline, on a Hugging Face cache of tiny repositories shaped as published
(tests/hub_shaped.py): every component loads through the hub backend, the stages run end to end on the CPU,
`models check` passes, and a missing or broken file gives one line naming it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.hub_shaped import PROJECTION_DIM, build_hub_cache, remove_cached, snapshot_of, tiny_hub_preset, write_laion_clip


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf-cache")
    return build_hub_cache(root, tiny_hub_preset())


@pytest.fixture
def hub(hub_root, monkeypatch):
    """The cache above as this process's Hugging Face cache, with an empty model cache before and after."""
    from huggingface_hub import constants

    from studio.models.cache import clear_cache

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_root))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    clear_cache()
    yield hub_root
    clear_cache()


@pytest.fixture
def preset():
    return tiny_hub_preset()


def _removed(root, repo, path):
    """Remove one cached file for the test's duration (returns a function that puts it back)."""
    found = next((root / f"models--{repo.replace('/', '--')}" / "snapshots").glob(f"*/{path}"))
    data = found.read_bytes()
    found.unlink()
    return lambda: found.write_bytes(data)


@pytest.mark.slow
def test_the_gpu_preset_runs_end_to_end_on_a_hub_shaped_cache(hub, preset):
    """Every stage of the gpu preset, through its hub loaders, on repositories shaped as published.

    Catches: a loader that asks for a file the published layout lacks (a safetensors-only load of the .bin-only
    zeroscope, an fp16 variant where none is published), a second image encoder (IP-Adapter must reuse the
    APM's), a tokenizer check that refuses a real CLIP tokenizer, a checkpoint that does not map strictly."""
    from PIL import Image

    from studio.generate.sampler import StreamingPipeline
    from studio.generate.seam import heal_seam
    from studio.models.cache import get_component
    from studio.models.check import check
    from studio.references.ip_adapter import PIPELINE_LOCK, adapter_installed, ip_adapter_for
    from studio.models.sdedit import sdedit_frames

    # 0. A Space's start-up: every file at its revision, the checkpoint converted, the models loaded on the CPU.
    from studio.generate.checkpoint import converted_path
    from studio.models.prefetch import prepare_models

    said = []
    prepare_models(preset, progress=said.append)
    assert said[-1] == "models ready" and converted_path(preset).is_file()
    assert any("downloaded h94/IP-Adapter/models/image_encoder/model.safetensors" in line for line in said)

    # 1. A reference image with IP-Adapter (the shared ViT-H is the pipeline's image encoder).
    pipe = get_component(preset, "text_to_image")
    assert pipe.image_encoder is get_component(preset, "image_encoder")
    adapter = ip_adapter_for(preset, pipe)
    grey = Image.new("RGB", (32, 32), (128, 90, 60))
    import torch

    with PIPELINE_LOCK, adapter_installed(pipe, adapter):
        pipe.set_ip_adapter_scale(0.6)
        image = pipe(prompt="a red fox", num_inference_steps=2, width=32, height=32, ip_adapter_image=grey,
                     generator=torch.Generator().manual_seed(0)).images[0]
    reference = np.asarray(image.convert("RGB"))
    assert reference.shape == (32, 32, 3)

    # 2. Chunk 0 from text, on the public UNet; 3. a CAM + APM chunk from the released (Lightning) checkpoint.
    s = preset.streaming
    streaming = StreamingPipeline(preset)
    first = streaming.make_chunk("a red fox runs", None, None, seed=1, keep_context=True)
    assert first.shape == (s.frames_per_chunk, 32, 32, 3)
    second = streaming.make_chunk("a red fox runs", first[-s.context_frames:], reference, seed=2)
    assert second.shape == (s.frames_per_chunk - s.context_frames, 32, 32, 3)
    assert streaming.image_encoder is pipe.image_encoder  # one encoder for both
    assert streaming.model.resampler.context_embedding[0].in_features == PROJECTION_DIM

    # 4. A refine window on the .bin-only refiner, its feed-forward layers in slices; 5. seam healing.
    from studio.refine.stage import upscale_frames

    video = np.concatenate([first, second])
    big = upscale_frames(video[:8], 48, 48)
    refined = sdedit_frames(preset, big, "a red fox runs", strength=0.6, seed=3, mode="randomized")
    assert refined.shape == big.shape and not np.array_equal(refined, big)
    healing = heal_seam(preset, first, second, prompt="a red fox runs", seed=4)
    assert healing.left.shape == first.shape

    # 6. models check: everything cached, verified on the meta device, and within the memory plan.
    report = check(preset)
    assert report["ok"], [p for row in report["components"] for p in row["problems"]] + report["problems"]
    assert all(row["cached"] for row in report["components"])


def test_a_missing_file_is_one_line_naming_it(hub, preset):
    """Catches: a partial download reported as ready, or as a traceback instead of the file's name."""
    from studio.models.check import check

    put_back = _removed(hub, preset.models.refiner, "unet/diffusion_pytorch_model.bin")
    try:
        report = check(preset, verify=False)
    finally:
        put_back()
    assert not report["ok"]
    row = next(r for r in report["components"] if r["name"] == "refiner_unet")
    assert row["cached"] is False and len(row["problems"]) == 1
    assert "unet/diffusion_pytorch_model.bin" in row["problems"][0] and "\n" not in row["problems"][0]


def test_a_weight_file_of_another_shape_is_one_line_naming_it(hub, preset, tmp_path):
    """Catches: a damaged or foreign weight file that only a full load would find (check verifies on meta), and a
    load failure (size mismatch) escaping as a raw traceback instead of the one-line message."""
    from diffusers import UNet3DConditionModel

    from studio.errors import ModelUnavailableError
    from studio.models.cache import get_component
    from studio.models.check import check

    path = next((hub / f"models--{preset.models.base_video.replace('/', '--')}" / "snapshots").glob(
        "*/unet/diffusion_pytorch_model.fp16.safetensors"))
    original = path.read_bytes()
    other = UNet3DConditionModel(block_out_channels=(16, 32), layers_per_block=1, sample_size=16, cross_attention_dim=32,
                                 down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
                                 up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), attention_head_dim=8, norm_num_groups=8)
    other.save_pretrained(str(tmp_path), variant="fp16")
    path.write_bytes((tmp_path / "diffusion_pytorch_model.fp16.safetensors").read_bytes())
    try:
        report = check(preset)
        with pytest.raises(ModelUnavailableError) as raised:
            get_component(preset, "first_chunk_unet")
    finally:
        path.write_bytes(original)
    row = next(r for r in report["components"] if r["name"] == "first_chunk_unet")
    assert len(row["problems"]) == 1 and "unet/diffusion_pytorch_model.fp16.safetensors" in row["problems"][0]
    message = str(raised.value)
    assert "\n" not in message and "first_chunk_unet" in message and preset.models.base_video in message


def test_a_tokenizer_without_its_files_is_refused_in_one_line(hub, preset):
    """Catches (fails on the old loader): transformers 5 returns a 2-token tokenizer when vocab.json and merges.txt
    are missing, and every prompt became BOS/EOS for the life of the process."""
    from studio.errors import ModelUnavailableError
    from studio.models.cache import get_component

    put_back = [_removed(hub, preset.models.base_video, f"tokenizer/{name}") for name in ("vocab.json", "merges.txt")]
    try:
        with pytest.raises(ModelUnavailableError) as raised:
            get_component(preset, "tokenizer")
    finally:
        for restore in put_back:
            restore()
    message = str(raised.value)
    assert "\n" not in message and preset.models.base_video in message and "tokenizer" in message
    assert len(get_component(preset, "tokenizer")) == 49408  # not cached while refused: the files back, it loads


@pytest.mark.parametrize("vision_projection", [None, 512])
def test_a_laion_clip_config_loads_with_its_projection_or_says_why_not(vision_projection, tmp_path, monkeypatch):
    """A LAION-style CLIPModel repository as the APM encoder: its vision_config leaves projection_dim out.

    Catches (fails on the old loader): the projection built 512 wide against narrower weights, a size-mismatch
    RuntimeError escaping as a traceback; with a really wrong config, it must be one line naming the repository."""
    from huggingface_hub import constants

    from studio.errors import ModelUnavailableError
    from studio.models.cache import clear_cache, get_component

    repo = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
    write_laion_clip(snapshot_of(tmp_path, repo, "main"), vision_projection)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    preset = tiny_hub_preset()
    preset.models.image_encoder, preset.models.image_encoder_subfolder = repo, ""
    clear_cache()
    try:
        if vision_projection is None:
            encoder = get_component(preset, "image_encoder")
            assert encoder.visual_projection.weight.shape[0] == PROJECTION_DIM
        else:
            with pytest.raises(ModelUnavailableError) as raised:
                get_component(preset, "image_encoder")
            message = str(raised.value)
            assert "\n" not in message and repo in message and "image_encoder" in message
    finally:
        clear_cache()


def test_out_of_gpu_memory_while_loading_or_running_is_one_line(preset, monkeypatch):
    """Catches: torch.OutOfMemoryError (a RuntimeError the old loader did not catch) escaping as a traceback."""
    import torch

    from studio.errors import ModelUnavailableError
    from studio.models import hub
    from studio.models.cache import clear_cache, get_component

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(hub, "_load_diffusers_part", out_of_memory)
    clear_cache()
    with pytest.raises(ModelUnavailableError) as raised:
        get_component(preset, "refiner_unet")
    assert "cpu_offload" in str(raised.value) and preset.models.refiner in str(raised.value)
    with pytest.raises(ModelUnavailableError) as raised:
        with hub.running(preset, "refiner_unet", preset.models.refiner):
            out_of_memory()
    assert "cpu_offload" in str(raised.value) and "\n" not in str(raised.value)
