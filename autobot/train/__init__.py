"""Training: losses, the batch pipeline, configs and resumable member training."""
