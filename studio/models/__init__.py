"""The models every stage shares: one lazy, lock-guarded cache and the ways to build what it holds.

- cache.py           get_component(preset, name): load once, share across sessions (hub, tiny, random)
- diffusion.py       helpers both diffusion loops use: VAE scale, prompt encoding, latents -> uint8 frames
- tiny.py            every model built in code with random weights (tests, CI)
- random_weights.py  real-size architectures with random weights (the benchmark)
"""
