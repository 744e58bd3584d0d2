"""Bagged ensembles: ``train_ensemble`` writes a folder, ``load_ensemble`` reads it back."""

from autobot.ensemble.bagging import (Ensemble, EnsemblePrediction, load_ensemble, load_task_ensemble,
                                      train_ensemble)

__all__ = ["Ensemble", "EnsemblePrediction", "load_ensemble", "load_task_ensemble", "train_ensemble"]
