"""Autotuning: tasks from a model, knob search by measurement, a JSON-lines database of
records, and the choice of the best record per task at compile time."""
