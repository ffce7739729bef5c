"""LTX-Video, the second model family beside StreamingT2V (models.family: ltx), through diffusers' parts.

- shapes.py      what LTX can make: 8k + 1 frames, sizes in multiples of 32 (no torch; the preset check)
- components.py  the parts (T5 tokenizer + encoder, transformer, VAE, latent upsampler): tiny, hub or random
- sampler.py     LtxModels: text, encode/decode, our flow-matching loop with frame conditions and blended windows
- chunk.py       one chunk: the previous frames as a frame-0 condition, the scene image as image-to-video,
                 AdaIN towards the anchor
- refine.py      the latent upsampler, then a short second pass window by window with randomized blending;
                 the same second pass (no upsampler) heals a keep-later seam

The chunk loop, project folder, takes, approval, QA and export do not know which family made a chunk:
they see frames on disk. Nothing heavy is imported here.
"""
