"""voxguard.training."""
