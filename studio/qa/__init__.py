"""Per-chunk drift checks (`studio qa`): colour and seam measures, CLIP similarity, flags, plots."""
