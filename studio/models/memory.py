"""The GPU memory plan, as code: which models each stage needs, what the others do meanwhile, and what it costs.

- STAGES: per pipeline, each stage's components (the names studio.models.cache caches them under). A second
  video backend registers its own table with `register_pipeline` and names it in `pipeline_of`.
- enter_stage(preset, stage): before a stage runs on a GPU, every cached model it does not need leaves the GPU
  (models.between_stages: offload = to the CPU, free = to the CPU and out of the cache, keep = stays), and
  the ones it needs are brought onto it. With models.cpu_offload the models move one at a time instead
  (cache.onto_device), so nothing is done here.
- plan(preset): per stage, resident weights (parameter counts of the full-size models on the meta device x
  the preset's dtype) and the peak (weights + the activation estimate below + a fixed overhead).
- chunk_feed_forward(module, tokens): every feed-forward layer runs on at most `tokens` tokens per call.

The activation estimate (bytes = the dtype's size), for one UNet call on B·F frames of h x w latents, with
N0 = B·F·h·w tokens at the widest level of width C0 (320), levels l of width C_l at N0 / 4^l tokens:
- the skip features kept for the up path: sum_l N0/4^l · C_l · (layers_per_block + 1)
- the working set at the widest level (hidden state, residual, norm output, q/k/v/out with SDPA, which never
  forms the attention matrix): 8 · N0 · C0
- the feed-forward temporaries: diffusers' GEGLU projects to 2·4·C0, then gelu(gate) and the product add
  4·C0 each: 16 · C0 per token, on min(N0, the chunk) tokens (the ~8 GB of a 96-frame 720x720 call).
The VAE decodes `frames_per_call` frames at a time; at full resolution its widest stage keeps about six
128-channel maps, at 1/2 six 256-channel maps, at 1/4 six 512-channel maps: frames · P · 1344 values
(P = pixels of a frame or, tiled, of a 512x512 tile). A stage's activation peak is the larger of the two.
OVERHEAD_GB covers the CUDA context, cuBLAS workspaces and allocator fragmentation. All of this is an
estimate derived by hand from the layer shapes, unmeasured on a GPU.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from typing import Any

from studio.config import Preset

logger = logging.getLogger(__name__)

GB = 1e9
OVERHEAD_GB = 1.0
VAE_TILE_PIXELS = 512 * 512
VAE_VALUES_PER_PIXEL = 6 * (128 + 256 / 4 + 512 / 16)  # = 1344
LLM_ACTIVATION_GB = 0.5  # KV cache and hidden states of a 4k-token prompt at 1.5 B parameters

# pipeline -> stage -> the components it needs on the GPU (cache names).
STAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "streamingt2v": {
        "plan": ("llm",),
        "references": ("text_to_image", "image_encoder"),
        "first_chunk": ("text_encoder", "first_chunk_unet", "vae"),
        "generate": ("text_encoder", "streaming_model", "image_encoder", "vae"),
        "refine": ("text_encoder", "refiner_unet", "vae"),
        "seam": ("text_encoder", "refiner_unet", "vae"),
        "qa": ("clip",),
    },
}


def register_pipeline(name: str, stages: dict[str, tuple[str, ...]]) -> None:
    """A second video backend's stages (its presets then name it)."""
    STAGES[name] = dict(stages)


def pipeline_of(preset: Preset) -> str:
    return "streamingt2v"


def stage_components(preset: Preset, stage: str) -> tuple[str, ...]:
    return STAGES[pipeline_of(preset)][stage]


# ----------------------------------------------------------------------------- moving models between stages


def _module_of(value: Any) -> Any:
    """The movable part of a cache entry: a module, a pipeline, or the model of a (model, tokenizer) pair."""
    if isinstance(value, tuple):
        value = value[0]
    return value if hasattr(value, "to") else None


def _stage_name(cache_name: str) -> str:
    # video_unet is the streaming model's own UNet; a compiled model is the model it wraps
    if cache_name == "video_unet" or cache_name.startswith("streaming_model"):
        return "streaming_model"
    return cache_name


def enter_stage(preset: Preset, stage: str) -> list[str]:
    """Make the GPU ready for `stage`: the models it does not need leave it, those it needs come onto it.

    Returns the cache names moved off (for the log and the tests); nothing happens off CUDA, with
    models.cpu_offload (models move one at a time there) or between_stages: keep."""
    from studio.models import cache

    device = cache.device_for(preset)
    between = preset.models.between_stages
    if device.type != "cuda" or preset.models.cpu_offload or between == "keep":
        return []
    needed = set(stage_components(preset, stage))
    key = cache.preset_key(preset)
    moved_off = []
    with cache._lock:
        entries = [(name, value) for (k, name), value in cache._cache.items() if k == key]
        for name, value in entries:
            module = _module_of(value)
            if module is None or _stage_name(name) in needed:
                continue
            cache.move(module, "cpu")
            moved_off.append(name)
            if between == "free":
                del cache._cache[(key, name)]
        for name, value in entries:
            module = _module_of(value)
            if module is not None and _stage_name(name) in needed:
                cache.move(module, device)
    if moved_off:
        import torch

        torch.cuda.empty_cache()
        logger.info("stage %s: %s moved off the GPU (%s)", stage, ", ".join(moved_off), between)
    return moved_off


# ----------------------------------------------------------------------------- feed-forward chunking


def chunk_feed_forward(module: Any, max_tokens: int) -> int:
    """Run every diffusers FeedForward inside `module` on at most `max_tokens` tokens per call (0: off).

    Exact: a feed-forward layer works token by token. Not diffusers' enable_forward_chunking: that one needs a
    chunk size dividing the chunked dimension and gives the spatial blocks (B·F, h·w, C) and the temporal ones
    (B·h·w, F, C) the same size, so chunk 1 along dim 0 would run a temporal block in 16,200 calls at 720x720.
    Returns how many layers were wrapped."""
    from diffusers.models.attention import FeedForward

    count = 0
    for layer in module.modules():
        if isinstance(layer, FeedForward):
            if "forward" in vars(layer):  # already wrapped: unwrap first so the size can change
                del layer.forward
            if max_tokens > 0:
                layer.forward = functools.partial(_chunked_forward, type(layer).forward.__get__(layer), max_tokens)
                count += 1
    return count


def _chunked_forward(forward, max_tokens: int, hidden_states, *args, **kwargs):
    """(N, L, C) -> (N, L, C) in slices of at most `max_tokens` tokens (rows first, then along L)."""
    import torch

    if hidden_states.dim() != 3 or hidden_states.shape[0] * hidden_states.shape[1] <= max_tokens:
        return forward(hidden_states, *args, **kwargs)
    rows, length = hidden_states.shape[:2]
    if length <= max_tokens:
        per_call = max(1, max_tokens // length)
        return torch.cat([forward(part, *args, **kwargs) for part in hidden_states.split(per_call, dim=0)])
    return torch.cat([torch.cat([forward(piece, *args, **kwargs) for piece in row.split(max_tokens, dim=1)], dim=1)
                      for row in hidden_states.split(1, dim=0)])


# ----------------------------------------------------------------------------- the plan


@dataclass
class StagePlan:
    components: tuple[str, ...]
    weights_gb: float
    activations_gb: float
    peak_gb: float


def _dtype_bytes(preset: Preset) -> int:
    return 4 if preset.models.dtype == "float32" else 2


@functools.lru_cache(maxsize=4)
def _full_size_parameters(apm_tokens: int) -> dict[str, int]:
    """Parameter counts of the gpu preset's models, built full size on the meta device (no memory, no download)."""
    import torch
    from diffusers import UNet2DConditionModel
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, Qwen2Config, Qwen2ForCausalLM

    from studio.generate.model import StreamingModel
    from studio.models import random_weights as rw

    def count(module) -> int:
        return sum(p.numel() for p in module.parameters())

    unet3d, vae, text, vision = rw.unet3d("full"), rw.vae("full"), rw.text_encoder("full"), rw.image_encoder("full")
    with torch.device("meta"):
        streaming = StreamingModel.build(unet3d, vision, 8, image_tokens=apm_tokens)
        # SD 1.5: diffusers' UNet2DConditionModel defaults with 768-wide cross-attention, CLIP ViT-L/14 text
        sd_unet = UNet2DConditionModel(cross_attention_dim=768)
        sd_text = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                               num_attention_heads=12, vocab_size=49408))
        # Qwen2.5-1.5B-Instruct's config.json
        llm = Qwen2ForCausalLM(Qwen2Config(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                                           num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                                           tie_word_embeddings=True))
        clip = CLIPModel(CLIPConfig())  # transformers' defaults are openai/clip-vit-base-patch32
    unet_params, vae_params = count(unet3d), count(vae)
    return {
        "text_encoder": count(text), "vae": vae_params, "image_encoder": count(vision),
        "streaming_model": count(streaming), "first_chunk_unet": unet_params, "refiner_unet": unet_params,
        "text_to_image": count(sd_unet) + count(sd_text) + vae_params, "llm": count(llm), "clip": count(clip),
    }


def component_weights_gb(preset: Preset) -> dict[str, float]:
    counts = _full_size_parameters(preset.streaming.apm_tokens)
    size = _dtype_bytes(preset)
    weights = {name: params * size / GB for name, params in counts.items()}
    weights["clip"] = counts["clip"] * 4 / GB  # the CLIP score model is loaded in fp32
    return weights


def unet_activation_gb(frames: int, height: int, width: int, dtype_bytes: int, *, widths=(320, 640, 1280, 1280),
                       layers_per_block: int = 2, feed_forward_tokens: int = 0) -> float:
    """The estimate in the module docstring for one UNet call on `frames` (batch x frames) latents of h x w."""
    tokens = frames * height * width
    skips = sum(tokens / 4 ** level * channels * (layers_per_block + 1) for level, channels in enumerate(widths))
    working = 8 * tokens * widths[0]
    ff_tokens = min(tokens, feed_forward_tokens) if feed_forward_tokens else tokens
    return (skips + working + 16 * widths[0] * ff_tokens) * dtype_bytes / GB


def vae_activation_gb(frames_per_call: int, height: int, width: int, dtype_bytes: int, tiling: bool) -> float:
    pixels = min(height * width, VAE_TILE_PIXELS) if tiling else height * width
    return frames_per_call * pixels * VAE_VALUES_PER_PIXEL * dtype_bytes / GB


def activation_gb(preset: Preset, stage: str) -> float:
    """The activation peak of one call of the stage's largest model (module docstring)."""
    from studio.models.diffusion import VAE_FRAMES_PER_CALL

    size = _dtype_bytes(preset)
    s, r, refs = preset.streaming, preset.refine, preset.references
    if stage in ("plan", "qa"):
        return LLM_ACTIVATION_GB if stage == "plan" else 0.2
    if stage == "references":
        side = max(refs.width * refs.height, refs.scene_width * refs.scene_height)
        latent = side / 64
        unet = unet_activation_gb(2, 1, latent, size)  # guidance: a batch of 2 images
        return max(unet, vae_activation_gb(1, 1, side, size, tiling=False))
    if stage in ("first_chunk", "generate"):
        unet = unet_activation_gb(2 * s.frames_per_chunk, s.height // 8, s.width // 8, size)
        if stage == "generate":
            unet *= 1.5  # the CAM: the encoder copy on the context frames and its injected features
        frames = VAE_FRAMES_PER_CALL if s.vae_slicing else s.frames_per_chunk
        return max(unet, vae_activation_gb(frames, s.height, s.width, size, tiling=False))
    # refine and seam: windows_per_call windows, x2 for guidance, at the refine size (seam: the draft size)
    height, width = (r.height, r.width) if stage == "refine" else (s.height, s.width)
    unet = unet_activation_gb(2 * r.window * r.windows_per_call, math.ceil(height / 8), math.ceil(width / 8), size,
                              feed_forward_tokens=r.feed_forward_tokens)
    return max(unet, vae_activation_gb(VAE_FRAMES_PER_CALL, height, width, size, tiling=r.vae_tiling))


def plan(preset: Preset) -> dict[str, StagePlan]:
    """Each stage's components, resident weights and peak, in GB (1e9 bytes), for this preset's settings.

    between_stages: keep leaves every model of the earlier stages resident: each stage then also carries all of them."""
    weights = component_weights_gb(preset)
    stages = STAGES[pipeline_of(preset)]
    result, resident = {}, set()
    for stage, components in stages.items():
        resident |= set(components)
        on_gpu = resident if preset.models.between_stages == "keep" and not preset.models.cpu_offload else set(components)
        if preset.models.cpu_offload:  # one model at a time
            stage_weights = max(weights[c] for c in components)
        else:
            stage_weights = sum(weights[c] for c in on_gpu)
        acts = activation_gb(preset, stage)
        result[stage] = StagePlan(components, round(stage_weights, 2), round(acts, 2),
                                  round(stage_weights + acts + OVERHEAD_GB, 2))
    return result
