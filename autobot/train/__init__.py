"""Training: losses, the batch pipeline, configs, recipes and resumable member training."""

from autobot.train.config import TrainConfig
from autobot.train.losses import CompositeLoss, make_loss
from autobot.train.member import MemberResult, train_member

__all__ = ["CompositeLoss", "MemberResult", "TrainConfig", "make_loss", "train_member"]
