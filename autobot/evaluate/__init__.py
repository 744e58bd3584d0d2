"""Scores and reports for both tasks."""
