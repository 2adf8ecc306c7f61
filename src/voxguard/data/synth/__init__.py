"""voxguard.data.synth."""
