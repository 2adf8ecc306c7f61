"""voxguard.layers."""
