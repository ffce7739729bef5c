"""Tiny models built in code with random weights from a fixed seed (the `tiny` preset).

They have the same classes and code paths as the real models, at a few thousand parameters, so the
whole studio runs on a CPU in seconds: the way diffusers tests its pipelines. Each builder seeds
torch itself, so the same call gives the same weights in every process.
"""

from __future__ import annotations

from typing import Any

import torch

TEXT_DIM = 32  # hidden size of the tiny CLIP text encoder = the UNets' cross-attention size
IMAGE_SIZE = 32  # tiny CLIP vision input size
TINY_SEED = 0


def _seeded(offset: int) -> None:
    torch.manual_seed(TINY_SEED + offset)


def _byte_vocab() -> dict[str, int]:
    """A byte-level vocabulary: the CLIP specials, every byte as a char and as an end-of-word char."""
    byte_chars = _bytes_to_unicode()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in byte_chars.values():
        vocab[char] = len(vocab)
    for char in byte_chars.values():
        vocab[char + "</w>"] = len(vocab)
    return vocab


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode map (so any text has a tokenization)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer(vocab=_byte_vocab(), merges=[], model_max_length=77)
    return tokenizer


def clip_text_encoder(vocab_size: int) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel

    _seeded(1)
    config = CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=TEXT_DIM, intermediate_size=64,
        num_attention_heads=2, num_hidden_layers=2, vocab_size=vocab_size, projection_dim=TEXT_DIM,
        max_position_embeddings=77,
    )
    return CLIPTextModel(config).eval()


def unet3d(seed_offset: int = 2) -> Any:
    """A two-level UNet3D with the ModelScope block types (cross-attention down, plain down)."""
    from diffusers import UNet3DConditionModel

    _seeded(seed_offset)
    unet = UNet3DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"), up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
        cross_attention_dim=TEXT_DIM, attention_head_dim=8, norm_num_groups=8,
    ).eval()
    # diffusers zero-initialises the last conv of every temporal conv layer (an identity until trained);
    # small random weights there make neighbouring frames interact, as in a trained model.
    with torch.no_grad():
        for name, module in unet.named_modules():
            if ".temp_convs." in name and name.endswith("conv4.3"):
                module.weight.normal_(0.0, 0.02)
    return unet


def vae() -> Any:
    """A three-level VAE: downsamples by 4 (the real one by 8), so 32x32 frames are 8x8 latents."""
    from diffusers import AutoencoderKL

    _seeded(3)
    return AutoencoderKL(
        block_out_channels=(16, 32, 32), in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        latent_channels=4, sample_size=32, norm_num_groups=8,
    ).eval()


def ddim_scheduler() -> Any:
    from diffusers import DDIMScheduler

    # ModelScope's scheduler settings.
    return DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1,
    )


def clip_vision(projection_dim: int = TEXT_DIM) -> Any:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    _seeded(4)
    config = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2,
        image_size=IMAGE_SIZE, patch_size=8, projection_dim=projection_dim,
    )
    return CLIPVisionModelWithProjection(config).eval()


def clip_image_processor() -> Any:
    # The PIL processor: the default one needs torchvision, which is never installed here.
    from transformers import CLIPImageProcessorPil as CLIPImageProcessor

    return CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})


def unet2d() -> Any:
    from diffusers import UNet2DConditionModel

    _seeded(5)
    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_DIM, attention_head_dim=8, norm_num_groups=8,
    ).eval()


def text_to_image_pipeline() -> Any:
    """A StableDiffusionPipeline of tiny parts, with a CLIP vision encoder ready for IP-Adapter."""
    from diffusers import StableDiffusionPipeline

    tokenizer = clip_tokenizer()
    return StableDiffusionPipeline(
        vae=vae(), text_encoder=clip_text_encoder(len(tokenizer)), tokenizer=tokenizer, unet=unet2d(),
        scheduler=ddim_scheduler(), safety_checker=None, feature_extractor=clip_image_processor(),
        image_encoder=clip_vision(), requires_safety_checker=False,
    )


def causal_lm() -> tuple[Any, Any]:
    """A tiny Llama with a byte-level tokenizer and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {char: i for i, char in enumerate(_bytes_to_unicode().values())}
    for special in ("<s>", "</s>", "<pad>"):
        vocab[special] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = (
        "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
        "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
    )
    _seeded(6)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=4096, bos_token_id=vocab["<s>"], eos_token_id=vocab["</s>"],
        pad_token_id=vocab["<pad>"],
    )
    return LlamaForCausalLM(config).eval(), tokenizer


def clip_model() -> tuple[Any, Any]:
    """A tiny CLIPModel (text + vision) and a matching processor, for the CLIP score."""
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    tokenizer = clip_tokenizer()
    _seeded(7)
    config = CLIPConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2,
                         vocab_size=len(tokenizer), bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2,
                           image_size=IMAGE_SIZE, patch_size=8),
        projection_dim=16,
    )
    processor = CLIPProcessor(image_processor=clip_image_processor(), tokenizer=tokenizer)
    return CLIPModel(config).eval(), processor
