"""Bagged ensembles: ``train_ensemble`` writes a folder, ``load_ensemble`` reads it back,
``assemble_ensemble`` joins members of several folders into one."""

from autobot.ensemble.assemble import assemble_ensemble
from autobot.ensemble.bagging import (Ensemble, EnsemblePrediction, bootstrap_rows, load_ensemble, load_task_ensemble,
                                      out_of_bag_rows, split_rows, train_ensemble)

__all__ = ["Ensemble", "EnsemblePrediction", "assemble_ensemble", "bootstrap_rows", "load_ensemble", "load_task_ensemble",
           "out_of_bag_rows", "split_rows", "train_ensemble"]
