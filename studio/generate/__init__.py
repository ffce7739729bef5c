"""Stage 3, Generate: each scene made chunk by chunk with StreamingT2V (CAM + APM + the chunk loop).

- attention.py   our SDPA attention processors (plain, and the APM token-mixing one)
- cam.py         Conditional Attention Module: frame encoder, encoder copy, temporal cross-attention injectors
- apm.py         Appearance Preservation Module: CLIP image tokens, resampler, installation into the UNet
- model.py       StreamingModel: base UNet3D + CAM + APM in one forward
- sampler.py     StreamingPipeline.make_chunk: our own denoising loop over one chunk
- first_chunk.py which model makes a chunk: a text-started chunk 0 from the public ModelScope UNet (official)
- checkpoint.py  the released weights (official Lightning ckpt and the VidXTend layout) -> fp16 safetensors
- stage.py       generate_scene / regenerate_chunk / generate_project over a project folder (events, resume)
- batch.py       regenerate_chunks: several regenerations in one job, every request checked before any is made

Nothing heavy is imported here: torch and diffusers load only when a submodule is used.
"""
