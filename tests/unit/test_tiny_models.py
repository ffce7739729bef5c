"""Every tiny component builds from code with fixed random weights and runs one forward pass."""

import numpy as np
import pytest
import torch

from studio.errors import ModelUnavailableError, StudioError
from studio.models import cache as models


def test_text_encoder_and_tokenizer(tiny_preset):
    tokenizer = models.get_component(tiny_preset, "tokenizer")
    encoder = models.get_component(tiny_preset, "text_encoder")
    ids = tokenizer(["a red fox runs"], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    assert ids.shape == (1, 77) and ids[0, 0] == tokenizer.bos_token_id
    with torch.no_grad():
        hidden = encoder(ids).last_hidden_state
    assert hidden.shape == (1, 77, 32)


def test_video_unet_vae_and_image_encoder(tiny_preset):
    unet = models.get_component(tiny_preset, "video_unet")
    vae = models.get_component(tiny_preset, "vae")
    with torch.no_grad():
        latents = vae.encode(torch.zeros(2, 3, 32, 32)).latent_dist.mean  # (F, 4, 8, 8)
        out = unet(torch.randn(1, 4, 16, 16, 16), 10, encoder_hidden_states=torch.randn(1, 77, 32)).sample
        image = models.get_component(tiny_preset, "image_encoder")(pixel_values=torch.zeros(1, 3, 32, 32)).image_embeds
    assert latents.shape == (2, 4, 8, 8)
    assert out.shape == (1, 4, 16, 16, 16) and torch.isfinite(out).all()
    assert image.shape == (1, 32)
    # The refiner is a separate UNet3D with its own weights.
    refiner = models.get_component(tiny_preset, "refiner_unet")
    assert refiner is not unet
    assert not torch.equal(next(refiner.parameters()), next(unet.parameters()))


def test_tiny_weights_are_the_same_in_every_build():
    from studio.models import tiny as tiny_models

    a, b = tiny_models.unet3d(), tiny_models.unet3d()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_text_to_image_language_model_and_clip(tiny_preset):
    pipe = models.get_component(tiny_preset, "text_to_image")
    image = pipe("a fox", num_inference_steps=2, height=32, width=32, output_type="np",
                 generator=torch.Generator().manual_seed(0)).images
    assert image.shape == (1, 32, 32, 3) and np.isfinite(image).all()
    lm, tokenizer = models.get_component(tiny_preset, "llm")
    encoded = tokenizer.apply_chat_template([{"role": "user", "content": "plan"}], add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)
    out = lm.generate(**encoded, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == encoded["input_ids"].shape[1] + 4
    clip, processor = models.get_component(tiny_preset, "clip")
    inputs = processor(text=["a fox"], images=[np.zeros((32, 32, 3), np.uint8)], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert clip(**inputs).logits_per_image.shape == (1, 1)


def test_cache_returns_one_shared_instance(tiny_preset):
    assert models.get_component(tiny_preset, "vae") is models.get_component(tiny_preset, "vae")
    with pytest.raises(StudioError, match="unknown model component"):
        models.get_component(tiny_preset, "nope")


def test_unreachable_hub_is_one_sentence_naming_the_model(monkeypatch, tmp_path):
    from studio.config import load_preset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    preset = load_preset("gpu")
    preset.models.device = "cpu"
    with pytest.raises(ModelUnavailableError) as error:
        models.get_component(preset, "vae")
    message = str(error.value)
    assert "damo-vilab/text-to-video-ms-1.7b" in message and "--preset animatic" in message
    assert "\n" not in message


def test_animatic_preset_has_no_models():
    from studio.config import load_preset

    with pytest.raises(StudioError, match="animatic"):
        models.get_component(load_preset("animatic"), "video_unet")


def test_cpu_offload_changes_nothing_without_a_gpu(tiny_preset):
    import copy

    preset = copy.deepcopy(tiny_preset)
    preset.models.cpu_offload = True
    vae = models.get_component(preset, "vae")
    assert models.onto_device(preset, vae) is vae and next(vae.parameters()).device.type == "cpu"
