"""voxguard.frontends."""
