"""Stage 2, References: one reference image per entity, one scene image per scene (VideoStudio).

- stage.py       make_references, approval, uploads: the stage over a project folder
- ip_adapter.py  the IP-Adapter loaded once into the shared text-to-image pipeline
"""
