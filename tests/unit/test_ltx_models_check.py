"""`models check` on the LTX presets names LTX-Video's parts, not StreamingT2V's (offline: nothing is fetched)."""

from studio.config import load_preset
from studio.models.check import check


def test_models_check_lists_the_ltx_parts():
    """Bug caught: `models check --preset ltx` reporting the ModelScope UNet, the StreamingT2V checkpoint and
    their memory plan, none of which an LTX preset loads."""
    report = check(load_preset("ltx"), verify=False)
    names = [row["name"] for row in report["components"]]
    assert {"ltx_tokenizer", "ltx_text_encoder", "ltx_transformer", "ltx_vae", "ltx_upsampler"} <= set(names)
    assert not {"first_chunk_unet", "streaming_checkpoint", "refiner_unet", "vae"} & set(names)
    assert report["memory"]["stages"] == {} and any("LTX-Video" in note for note in report["notes"])
    assert not report["ok"]  # no files recorded for the LTX repositories: said, never passed silently
