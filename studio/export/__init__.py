"""Stage 5, Export: the final mp4, per-scene files, the project archive and the metrics.

- stage.py    export_project: scenes -> final.mp4 (cuts or crossfades), per-scene files, metrics
- archive.py  the project as a zip, and its safe import
"""
